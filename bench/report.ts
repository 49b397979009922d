/** Renders benchmark results as a markdown table and a latency-vs-subscribers SVG chart. */

export interface Cell {
  scenario: string;
  transport: string;
  size: number;
  server: string;
  values: Record<string, number>;
}

const OURS = 'express-bayeux';

function fmt(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return '–';
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

function ratio(ours: number | undefined, peer: number | undefined): string {
  if (ours === undefined || peer === undefined || Number.isNaN(ours) || Number.isNaN(peer) || peer === 0) return '–';
  return `${(ours / peer).toFixed(2)}×`;
}

/** Server and load-generator CPU over the window, in % of one core ('' for cells measured before they were recorded). */
function cpuShares(v: Record<string, number>): string {
  if (v.serverCpuShare === undefined || v.generatorCpuShare === undefined) return '';
  return `${fmt(v.serverCpuShare * 100)}% / ${fmt(v.generatorCpuShare * 100)}%`;
}

/**
 * Shares of one core at which a process counts as saturated: a Node process
 * runs its JavaScript on one thread, so near 100 % it cannot go faster. The
 * generator is the binding side when it is saturated and the server is not;
 * the server when it is saturated (whatever the generator does); neither
 * saturated means the offered rate (publish rate, concurrency) set the pace.
 */
const SATURATED = { generator: 0.9, server: 0.9 } as const;

/** What bound the cell: 'generator', 'server' or 'rate' ('' for cells measured before the shares were recorded). */
function bound(v: Record<string, number>): '' | 'generator' | 'server' | 'rate' {
  const server = v.serverCpuShare;
  const generator = v.generatorCpuShare;
  if (server === undefined || generator === undefined) return '';
  if (server >= SATURATED.server) return 'server';
  if (generator >= SATURATED.generator) return 'generator';
  return 'rate';
}

/** The handshake cells: older ones recorded the generator's share alone. */
function handshakeShares(v: Record<string, number>): string {
  if (v.generatorCpuShare === undefined) return '';
  if (v.serverCpuShare === undefined) return `– / ${fmt(v.generatorCpuShare * 100)}%`;
  return cpuShares(v);
}

export function renderMarkdown(meta: Record<string, unknown>, cells: Cell[]): string {
  const lines = [
    `Machine: ${meta.cores} cores, Node ${meta.node}; ${meta.runs} measured run(s) per cell after a discarded warm-up (median), each in a fresh server process${meta.warmup === undefined ? '' : ` warmed up with ${meta.warmup} s of the same load`}; fan-out at ${meta.rate} msg/s for ${meta.seconds} s.`,
    '',
    '| scenario | transport | size | server | delivered/s | share | p50 ms | p99 ms | max ms | CPU µs/delivery | CPU server / generator | bound | RSS MB | CPU vs ours | p99 vs ours |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const c of cells.filter((c) => c.values.deliveredPerSecond !== undefined)) {
    // The app-stack cells compare lane off against lane on.
    const base = c.scenario === 'app stack' ? `${OURS}, app stack, lane on` : OURS;
    const ours = cells.find((o) => o.server === base && o.scenario === c.scenario && o.transport === c.transport && o.size === c.size);
    const v = c.values;
    lines.push(
      `| ${c.scenario} | ${c.transport} | ${c.size} | ${c.server} | ${fmt(v.deliveredPerSecond)} | ${fmt((v.share ?? 0) * 100)}% | ${fmt(v.p50)} | ${fmt(v.p99)} | ${fmt(v.max)} | ${fmt(v.cpuMicrosPerDelivery)} | ${cpuShares(v)} | ${bound(v)} | ${fmt(v.rssMB)} | ${c.server === base ? '' : `ours ${ratio(ours?.values.cpuMicrosPerDelivery, v.cpuMicrosPerDelivery)}`} | ${c.server === base ? '' : `ours ${ratio(ours?.values.p99, v.p99)}`} |`,
    );
  }
  lines.push(
    '',
    '| idle sessions | transport | count | server | KB per session | RSS MB | memory vs ours |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const c of cells.filter((c) => c.scenario === 'idle')) {
    const ours = cells.find((o) => o.server === OURS && o.scenario === 'idle' && o.transport === c.transport);
    lines.push(
      `| idle | ${c.transport} | ${c.size} | ${c.server} | ${fmt(c.values.kbPerSession)} | ${fmt(c.values.rssMB)} | ${c.server === OURS ? '' : `ours ${ratio(ours?.values.kbPerSession, c.values.kbPerSession)}`} |`,
    );
  }
  lines.push(
    '',
    '| handshakes | server | per second | server CPU µs per handshake | CPU server / generator | bound | CPU vs ours |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const c of cells.filter((c) => c.scenario === 'handshakes')) {
    const ours = cells.find((o) => o.server === OURS && o.scenario === 'handshakes');
    const cpu = c.values.cpuUsPerHandshake;
    lines.push(
      `| long-polling, 20 concurrent | ${c.server} | ${fmt(c.values.handshakesPerSecond)} | ${fmt(cpu)} | ${handshakeShares(c.values)} | ${bound(c.values)} | ${c.server === OURS || cpu === undefined ? '' : `ours ${ratio(ours?.values.cpuUsPerHandshake, cpu)}`} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const COLORS: Record<string, string> = {
  'express-bayeux': '#2450b2',
  faye: '#c2410c',
  'cometd-nodejs-server': '#15803d',
  'node:http floor': '#9ca3af',
};
const LABELS: Record<string, string> = { 'cometd-nodejs-server': 'cometd', 'node:http floor': 'floor' };

/** p99 latency against subscribers, one line per server and transport (log-scaled x). */
export function renderSvg(cells: Cell[]): string {
  const fanout = cells.filter((c) => c.scenario === 'fan-out' && Number.isFinite(c.values.p99));
  const sizes = [...new Set(fanout.map((c) => c.size))].sort((a, b) => a - b);
  const maxY = Math.max(1, ...fanout.map((c) => c.values.p99 as number));
  const W = 640;
  const H = 360;
  const L = 60;
  const B = 40;
  const x = (size: number) =>
    L +
    ((Math.log10(size) - Math.log10(sizes[0] ?? 1)) / Math.max(0.001, Math.log10(sizes.at(-1) ?? 10) - Math.log10(sizes[0] ?? 1))) *
      (W - L - 150);
  const y = (v: number) => H - B - (v / maxY) * (H - B - 20);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${L}" y="14">p99 publish-to-delivery latency (ms) by subscribers</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - 150}" y2="${H - B}" stroke="#333"/><line x1="${L}" y1="20" x2="${L}" y2="${H - B}" stroke="#333"/>`,
  ];
  for (const size of sizes) parts.push(`<text x="${x(size)}" y="${H - B + 16}" text-anchor="middle">${size}</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = (maxY * i) / 4;
    parts.push(`<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(0)}</text>`);
  }
  let legend = 0;
  for (const server of Object.keys(COLORS)) {
    for (const transport of ['websocket', 'long-polling']) {
      const points = fanout.filter((c) => c.server === server && c.transport === transport).sort((a, b) => a.size - b.size);
      if (points.length === 0) continue;
      const dash = transport === 'long-polling' ? ' stroke-dasharray="5 4"' : '';
      parts.push(
        `<polyline fill="none" stroke="${COLORS[server]}" stroke-width="2"${dash} points="${points.map((p) => `${x(p.size).toFixed(1)},${y(p.values.p99 as number).toFixed(1)}`).join(' ')}"/>`,
      );
      const ly = 40 + legend * 18;
      parts.push(`<line x1="${W - 140}" y1="${ly}" x2="${W - 115}" y2="${ly}" stroke="${COLORS[server]}" stroke-width="2"${dash}/>`);
      parts.push(`<text x="${W - 110}" y="${ly + 4}">${LABELS[server] ?? server} ${transport === 'websocket' ? 'ws' : 'lp'}</text>`);
      legend++;
    }
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
