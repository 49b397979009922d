/** An SVG line chart of the scale-out run: CPU per local delivery against the number of nodes, one line per design and Redis (dashed: the cluster). */
import type { FanOutCell } from '../scale-out.js';

const W = 640;
const H = 360;
const PAD = { left: 70, right: 230, top: 40, bottom: 50 };
const COLORS: Record<FanOutCell['design'], string> = { 'one stream': '#c0392b', 'by interest': '#2471a3' };

export function scaleOutChart(cells: readonly FanOutCell[]): string {
  const counts = [...new Set(cells.map((c) => c.nodes))].sort((a, b) => a - b);
  const top = Math.max(...cells.map((c) => c.cpuPerDelivery)) * 1.1;
  const x = (nodes: number) => PAD.left + (counts.indexOf(nodes) / Math.max(1, counts.length - 1)) * (W - PAD.left - PAD.right);
  const y = (value: number) => H - PAD.bottom - (value / top) * (H - PAD.top - PAD.bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - 60}" y="20" text-anchor="middle" font-size="14">CPU per local delivery as nodes are added</text>`,
    `<line x1="${PAD.left}" y1="${H - PAD.bottom}" x2="${W - PAD.right}" y2="${H - PAD.bottom}" stroke="black"/>`,
    `<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${H - PAD.bottom}" stroke="black"/>`,
    `<text x="${(PAD.left + W - PAD.right) / 2}" y="${H - 12}" text-anchor="middle">node processes (same load on each)</text>`,
    `<text x="18" y="${(PAD.top + H - PAD.bottom) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(PAD.top + H - PAD.bottom) / 2})">µs CPU per delivery (median node)</text>`,
  ];
  for (const nodes of counts) {
    parts.push(`<text x="${x(nodes)}" y="${H - PAD.bottom + 18}" text-anchor="middle">${nodes}</text>`);
  }
  for (let i = 0; i <= 4; i++) {
    const value = (top / 4) * i;
    parts.push(
      `<line x1="${PAD.left - 4}" y1="${y(value)}" x2="${W - PAD.right}" y2="${y(value)}" stroke="#ddd"/>`,
      `<text x="${PAD.left - 8}" y="${y(value) + 4}" text-anchor="end">${value.toFixed(0)}</text>`,
    );
  }
  let legend = PAD.top;
  for (const redis of ['one Redis', '3-primary cluster'] as const) {
    for (const design of Object.keys(COLORS) as FanOutCell['design'][]) {
      const line = cells.filter((c) => c.design === design && c.redis === redis).sort((a, b) => a.nodes - b.nodes);
      if (line.length === 0) continue;
      const color = COLORS[design];
      const dash = redis === 'one Redis' ? '' : ' stroke-dasharray="6 4"';
      parts.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${line.map((c) => `${x(c.nodes)},${y(c.cpuPerDelivery)}`).join(' ')}"/>`,
      );
      for (const c of line) parts.push(`<circle cx="${x(c.nodes)}" cy="${y(c.cpuPerDelivery)}" r="3" fill="${color}"/>`);
      parts.push(
        `<line x1="${W - PAD.right + 15}" y1="${legend}" x2="${W - PAD.right + 35}" y2="${legend}" stroke="${color}" stroke-width="2"${dash}/>`,
        `<text x="${W - PAD.right + 40}" y="${legend + 4}">${design}, ${redis}</text>`,
      );
      legend += 20;
    }
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
