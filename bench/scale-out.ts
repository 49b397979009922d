/**
 * `npm run bench:cluster`: does adding nodes add capacity? 1, 2, 4 and 8 node
 * processes on one Redis of the bench's own, each with the same load: 500
 * sessions on per-user channels plus one on a shared channel, and 2,000
 * publishes (1 % on the shared channel, the rest spread over the users of all
 * nodes). Runs the design before routing by interest (BASELINE, one stream
 * every node reads; its lib/ taken from git) and this tree's, side by side.
 * Per node: CPU per local delivery and pub/sub messages received per publish;
 * per publish: Redis commands and bytes Redis sent. Then the Redis commands
 * and pub/sub messages of a long-poll /meta/connect sent round-robin to 3 nodes.
 * Every cell runs twice: on one Redis and on a Redis Cluster of three primaries
 * (both of the bench's own); on the cluster it also reports how evenly the
 * primaries shared the commands (the busiest one's share).
 * Writes bench/results/scale-out.{json,md,svg}. BENCH_NODES, BENCH_SESSIONS,
 * BENCH_PUBLISHES, BENCH_POLLS change the load; BENCH_RUNS (default 3) runs of each
 * cell, the median kept; BENCH_ONLY=polls measures the poll cells only and
 * keeps the fan-out cells of the last run's scale-out.json; BENCH_REDIS=one|cluster runs one
 * topology only; BENCH_PROFILE=<dir> profiles the nodes.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { Redis } from 'ioredis';
import { startCluster, startRedis } from '../test/helpers/redis-server.js';
import { scaleOutChart } from './scale-out/chart.js';

/** The last commit of the one-stream design. */
const BASELINE = process.env.BENCH_BASELINE ?? 'f11fefa';
const NODE_COUNTS = (process.env.BENCH_NODES ?? '1,2,4,8').split(',').map(Number);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 500);
const PUBLISHES = Number(process.env.BENCH_PUBLISHES ?? 2000);
const POLLS = Number(process.env.BENCH_POLLS ?? 200);
/** Runs of each fan-out cell; the run with the median CPU per delivery is kept (the machine is shared). */
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const root = join(import.meta.dirname, '..');

interface Node {
  child: ChildProcess;
  port: number;
  ask(command: Record<string, unknown>): Promise<Record<string, number>>;
}

/** Where the nodes find Redis, and the servers whose counters are read. */
interface Target {
  redis: 'one Redis' | '3-primary cluster';
  /** REDIS_URL or REDIS_CLUSTER for bench/scale-out/node.ts. */
  env: Record<string, string>;
  /** One connection to each Redis server (each primary of the cluster). */
  admins: Redis[];
  close(): Promise<void>;
}

async function oneRedis(): Promise<Target> {
  const redis = await startRedis();
  const admin = new Redis(redis.url);
  return {
    redis: 'one Redis',
    env: { REDIS_URL: redis.url },
    admins: [admin],
    async close() {
      admin.disconnect();
      await redis.kill();
    },
  };
}

async function threePrimaries(): Promise<Target> {
  const cluster = await startCluster(3);
  const admins = cluster.nodes.map((n) => new Redis(n.url));
  return {
    redis: '3-primary cluster',
    env: { REDIS_CLUSTER: cluster.seeds },
    admins,
    async close() {
      for (const admin of admins) admin.disconnect();
      await cluster.kill();
    },
  };
}

async function startNode(lib: string, target: Target, namespace: string): Promise<Node> {
  // BENCH_PROFILE=<dir>: a CPU profile of every node process there.
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', join(import.meta.dirname, 'scale-out', 'node.ts')], {
    env: { ...process.env, LIB: lib, ...target.env, NAMESPACE: namespace },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: Interface = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('a bench node did not answer within 120 s')), 120_000);
      waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  const { port } = JSON.parse(await next()) as { port: number };
  return {
    child,
    port,
    async ask(command) {
      const answer = next();
      child.stdin?.write(`${JSON.stringify(command)}\n`);
      return JSON.parse(await answer) as Record<string, number>;
    },
  };
}

interface Counters {
  /** Commands executed (INFO aside), summed over the servers. */
  commands: number;
  /** Bytes sent to clients, summed over the servers. */
  bytesOut: number;
  /** Commands executed, per server. */
  perServer: number[];
}

/** What the target's Redis servers executed and sent, so far. */
async function redisCounters(target: Target): Promise<Counters> {
  const each = await Promise.all(
    target.admins.map(async (admin) => {
      const commandstats = await admin.info('commandstats');
      let commands = 0;
      for (const match of commandstats.matchAll(/cmdstat_(\w+):calls=(\d+)/g)) if (match[1] !== 'info') commands += Number(match[2]);
      const stats = await admin.info('stats');
      return { commands, bytesOut: Number(/total_net_output_bytes:(\d+)/.exec(stats)?.[1] ?? 0) };
    }),
  );
  return {
    commands: each.reduce((sum, e) => sum + e.commands, 0),
    bytesOut: each.reduce((sum, e) => sum + e.bytesOut, 0),
    perServer: each.map((e) => e.commands),
  };
}

/** The busiest server's share of the commands between two readings (1 on one Redis; 1/3 is even on three primaries). */
function busiestShare(before: Counters, after: Counters): number {
  const deltas = after.perServer.map((n, i) => n - (before.perServer[i] ?? 0));
  const total = deltas.reduce((sum, n) => sum + n, 0);
  return Math.max(...deltas) / Math.max(1, total);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export interface FanOutCell {
  design: 'one stream' | 'by interest';
  redis: Target['redis'];
  nodes: number;
  /** Median over nodes of CPU µs per delivery to a local session. */
  cpuPerDelivery: number;
  /** Median over nodes of pub/sub messages received per publish made in the cluster. */
  receivedPerPublish: number;
  /** Median over nodes of pub/sub messages received per delivery to a local session. */
  receivedPerDelivery: number;
  /** Per publish made in the cluster. */
  redisCommandsPerPublish: number;
  redisBytesPerPublish: number;
  /** The busiest Redis server's share of the commands (1 on one Redis). */
  busiestShare: number;
  /** CPU per delivery of every run of the cell, ascending (the cell is the median run). */
  cpuRuns?: number[];
  delivered: number;
}

async function fanOut(design: FanOutCell['design'], lib: string, target: Target, count: number): Promise<FanOutCell> {
  const namespace = `scale-${randomBytes(4).toString('hex')}`;
  const nodes = await Promise.all(Array.from({ length: count }, () => startNode(lib, target, namespace)));
  try {
    await Promise.all(nodes.map((n, i) => n.ask({ op: 'load', node: i, sessions: SESSIONS })));
    // Warm-up (script loads, JIT), then the measured run.
    await Promise.all(nodes.map((n, i) => n.ask({ op: 'publish', count: 200, users: SESSIONS, nodes: count, seed: 7 + i })));
    await Promise.all(nodes.map((n) => n.ask({ op: 'read' })));
    await Promise.all(nodes.map((n) => n.ask({ op: 'mark' })));
    const before = await redisCounters(target);
    await Promise.all(nodes.map((n, i) => n.ask({ op: 'publish', count: PUBLISHES, users: SESSIONS, nodes: count, seed: 1000 + i })));
    const reads = await Promise.all(nodes.map((n) => n.ask({ op: 'read' })));
    const after = await redisCounters(target);
    const published = PUBLISHES * count;
    // Each node's sync marker counts as one command and a few bytes: negligible, left in.
    return {
      design,
      redis: target.redis,
      nodes: count,
      cpuPerDelivery: median(reads.map((r) => (r.cpuUs as number) / Math.max(1, r.delivered as number))),
      receivedPerPublish: median(reads.map((r) => (r.received as number) / published)),
      receivedPerDelivery: median(reads.map((r) => (r.received as number) / Math.max(1, r.delivered as number))),
      redisCommandsPerPublish: (after.commands - before.commands) / published,
      redisBytesPerPublish: (after.bytesOut - before.bytesOut) / published,
      busiestShare: busiestShare(before, after),
      delivered: reads.reduce((sum, r) => sum + (r.delivered as number), 0),
    };
  } finally {
    await Promise.allSettled(nodes.map((n) => n.ask({ op: 'close' })));
  }
}

export interface PollCell {
  design: FanOutCell['design'];
  redis: Target['redis'];
  redisCommandsPerPoll: number;
  /** Pub/sub messages Redis sent all three nodes, per poll. */
  messagesPerPoll: number;
  /** Median time from sending a poll to its answer (each lands on another node than the last, so each moves the session). */
  msPerPoll: number;
}

async function post(port: number, message: Record<string, unknown>): Promise<Record<string, unknown>[]> {
  const res = await fetch(`http://127.0.0.1:${port}/cometd`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([message]),
  });
  return (await res.json()) as Record<string, unknown>[];
}

async function polls(design: PollCell['design'], lib: string, target: Target): Promise<PollCell> {
  const namespace = `polls-${randomBytes(4).toString('hex')}`;
  const nodes = await Promise.all(Array.from({ length: 3 }, () => startNode(lib, target, namespace)));
  try {
    const [hello] = await post(nodes[0]?.port as number, {
      channel: '/meta/handshake',
      version: '1.0',
      supportedConnectionTypes: ['long-polling'],
    });
    const clientId = hello?.clientId as string;
    await post(nodes[0]?.port as number, { channel: '/meta/subscribe', clientId, subscription: '/poll/me' });
    const connect = (i: number) =>
      post(nodes[i % 3]?.port as number, { channel: '/meta/connect', clientId, connectionType: 'long-polling', advice: { timeout: 0 } });
    for (let i = 0; i < 6; i++) await connect(i);
    await Promise.all(nodes.map((n) => n.ask({ op: 'read' })));
    await Promise.all(nodes.map((n) => n.ask({ op: 'mark' })));
    const before = await redisCounters(target);
    const took: number[] = [];
    for (let i = 0; i < POLLS; i++) {
      const start = performance.now();
      await connect(i);
      took.push(performance.now() - start);
    }
    const reads = await Promise.all(nodes.map((n) => n.ask({ op: 'read' })));
    const after = await redisCounters(target);
    return {
      design,
      redis: target.redis,
      redisCommandsPerPoll: (after.commands - before.commands - 3) / POLLS,
      messagesPerPoll: (reads.reduce((sum, r) => sum + (r.received as number), 0) - 3) / POLLS,
      msPerPoll: took.sort((a, b) => a - b)[took.length >> 1] as number,
    };
  } finally {
    await Promise.allSettled(nodes.map((n) => n.ask({ op: 'close' })));
  }
}

/** The baseline's lib/, extracted from git, next to this tree's node_modules. */
function baselineLib(): { lib: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'bayeux-baseline-'));
  execFileSync('sh', ['-c', `git -C "${root}" archive ${BASELINE} lib package.json | tar -x -C "${dir}"`]);
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return { lib: join(dir, 'lib', 'index.ts'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const baseline = baselineLib();
const designs: [FanOutCell['design'], string][] = [
  ['one stream', baseline.lib],
  ['by interest', join(root, 'lib', 'index.ts')],
];
const topologies: [Target['redis'], () => Promise<Target>][] = [
  ['one Redis', oneRedis],
  ['3-primary cluster', threePrimaries],
];
const only = process.env.BENCH_REDIS;
const results = join(import.meta.dirname, 'results');
/** BENCH_ONLY=polls: the fan-out cells, and when they ran, from the last full run. */
const pollsOnly = process.env.BENCH_ONLY === 'polls';
const kept = pollsOnly
  ? (JSON.parse(readFileSync(join(results, 'scale-out.json'), 'utf8')) as { when: string; cells: FanOutCell[] })
  : undefined;
const cells: FanOutCell[] = kept?.cells ?? [];
const pollCells: PollCell[] = [];
try {
  for (const [name, start] of topologies) {
    if ((only === 'one' && name !== 'one Redis') || (only === 'cluster' && name === 'one Redis')) continue;
    const target = await start();
    try {
      for (const count of pollsOnly ? [] : NODE_COUNTS) {
        for (const [design, lib] of designs) {
          const runs: FanOutCell[] = [];
          for (let run = 0; run < RUNS; run++) {
            runs.push(await fanOut(design, lib, target, count));
            console.log(JSON.stringify(runs.at(-1)));
          }
          const cell = runs.sort((a, b) => a.cpuPerDelivery - b.cpuPerDelivery)[runs.length >> 1] as FanOutCell;
          cells.push({ ...cell, cpuRuns: runs.map((r) => Math.round(r.cpuPerDelivery * 10) / 10) });
        }
      }
      for (const [design, lib] of designs) {
        const cell = await polls(design, lib, target);
        pollCells.push(cell);
        console.log(JSON.stringify(cell));
      }
    } finally {
      await target.close();
    }
  }
} finally {
  baseline.cleanup();
}

mkdirSync(results, { recursive: true });
const pollsWhen = new Date().toISOString();
const when = kept?.when ?? pollsWhen;
writeFileSync(
  join(results, 'scale-out.json'),
  `${JSON.stringify({ when, pollsWhen, baseline: BASELINE, sessions: SESSIONS, publishes: PUBLISHES, cells, polls: pollCells }, null, 2)}\n`,
);
const rows = cells.map(
  (c) =>
    `| ${c.redis} | ${c.design} | ${c.nodes} | ${c.cpuPerDelivery.toFixed(1)} | ${c.receivedPerPublish.toFixed(2)} | ${c.receivedPerDelivery.toFixed(2)} | ${c.redisCommandsPerPublish.toFixed(2)} | ${Math.round(c.redisBytesPerPublish)} | ${c.redis === 'one Redis' ? '' : `${Math.round(100 * c.busiestShare)} %`} | ${c.delivered} |`,
);
const pollRows = pollCells.map(
  (p) =>
    `| ${p.redis} | ${p.design} | ${p.redisCommandsPerPoll.toFixed(1)} | ${p.messagesPerPoll.toFixed(1)} | ${p.msPerPoll.toFixed(2)} |`,
);
writeFileSync(
  join(results, 'scale-out.md'),
  [
    `Scale-out run of ${when} (baseline ${BASELINE}): per node ${SESSIONS} sessions on /user/<node>-<i> and one on /shared, ${PUBLISHES} publishes per node; each cell the median of ${RUNS} runs by CPU (all runs in scale-out.json).`,
    '',
    '| Redis | design | nodes | CPU µs per local delivery (median node) | pub/sub messages received per cluster publish (median node) | received per local delivery | Redis commands per publish | bytes Redis sent per publish | busiest primary: share of the commands | delivered |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Long-poll /meta/connect, round-robin over 3 nodes, ${POLLS} polls (run of ${pollsWhen}):`,
    '',
    '| Redis | design | Redis commands per poll | pub/sub messages to the nodes per poll | ms per poll (median) |',
    '|---|---|---|---|---|',
    ...pollRows,
    '',
  ].join('\n'),
);
writeFileSync(join(results, 'scale-out.svg'), scaleOutChart(cells));
console.log(`wrote ${join(results, 'scale-out.md')}`);
