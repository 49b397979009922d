/**
 * `npm run bench:pair`: two server processes on one Redis act as one server,
 * express-bayeux (redisEngine) and then Faye with faye-redis under the same
 * load. Subscribers (WebSocket) are split over both nodes; one publisher on
 * the first node publishes at BENCH_RATE for BENCH_SECONDS. Prints, per
 * server: delivered/s, share per node, latency, the Redis PUBLISH commands
 * per publish, and the CPU both nodes spent per delivery (schedstat, all
 * threads), with ours against Faye's; writes bench/results/pair.{md,json}.
 * BENCH_REDIS_CLUSTER=1 runs ours alone on a Redis Cluster of three
 * primaries started for the run (sharded pub/sub; faye-redis has no cluster
 * support), and counts SPUBLISH per shard and publishes that crossed the
 * cluster bus.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { startCluster } from '../test/helpers/redis-server.js';
import { type Msg, openClients, WebSocketClient } from './clients.js';
import { cpuSeconds } from './cpu.js';
import { saveResults } from './results.js';

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
const RATE = Number(process.env.BENCH_RATE ?? 20);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ON_CLUSTER = process.env.BENCH_REDIS_CLUSTER === '1';
const cluster = ON_CLUSTER ? await startCluster(3) : undefined;
// One admin connection per Redis: the shared one, or each primary of the cluster.
const admins = cluster ? cluster.nodes.map((n) => new Redis(n.port, '127.0.0.1')) : [new Redis(REDIS_URL)];

type ServerName = 'express-bayeux' | 'faye';
const SCRIPTS: Record<ServerName, string> = { 'express-bayeux': 'ours.ts', faye: 'faye.ts' };

async function node(server: ServerName, namespace: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'servers', SCRIPTS[server])], {
    env: {
      ...process.env,
      ENGINE: 'redis',
      REDIS_URL,
      NAMESPACE: server === 'faye' ? `/${namespace}` : namespace,
      ...(cluster ? { REDIS_CLUSTER: JSON.stringify(cluster.addresses) } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: child.stdout as NodeJS.ReadableStream }), 'line')) as [string];
  const { port, path } = JSON.parse(line) as { port: number; path: string };
  return { child, url: `ws://127.0.0.1:${port}${path}` };
}

/** Per Redis: PUBLISH + SPUBLISH calls, and publishes received over the cluster bus; CPU seconds of all of them. */
async function counters(): Promise<{ calls: number[]; bus: number; redisCpu: number }> {
  const calls: number[] = [];
  let bus = 0;
  let redisCpu = 0;
  for (const admin of admins) {
    const info = await admin.info('cpu');
    for (const field of ['used_cpu_user', 'used_cpu_sys']) redisCpu += Number(new RegExp(`${field}:([\\d.]+)`).exec(info)?.[1] ?? 0);
    const stats = await admin.info('commandstats');
    const count = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
    calls.push(count('publish') + count('spublish'));
    if (cluster) bus += Number(/cluster_stats_messages_publish_received:(\d+)/.exec(String(await admin.call('CLUSTER', 'INFO')))?.[1] ?? 0);
  }
  return { calls, bus, redisCpu };
}

interface PairResult {
  server: ServerName;
  subscribers: number;
  published: number;
  deliveries: number;
  deliveredPct: number;
  perSecond: number;
  sharePerNode: number[];
  p50: number;
  p99: number;
  redisPublishesPerPublish: number;
  cpuUsPerDelivery: number;
  cpuUsPerDeliveryPerNode: number[];
  /** Redis's CPU per delivery over the same window (anything else using that Redis included). */
  redisCpuUsPerDelivery: number;
  spublishPerShard?: number[];
  busPublishes?: number;
}

async function run(server: ServerName): Promise<PairResult> {
  const namespace = `bayeux-bench-${randomBytes(4).toString('hex')}`;
  const nodes = [await node(server, namespace), await node(server, namespace)];
  try {
    const clients = await openClients(
      SUBSCRIBERS,
      (() => {
        let i = 0;
        return () => WebSocketClient.open((nodes[i++ % 2] as { url: string }).url);
      })(),
    );
    await Promise.all(clients.map((c) => c.subscribe('/bench/cluster')));
    const latencies: number[] = [];
    const perNode = [0, 0];
    clients.forEach((c, i) => {
      c.listen((m: Msg) => {
        latencies.push(performance.now() - (m.data as { t: number }).t);
        perNode[i % 2] = (perNode[i % 2] ?? 0) + 1;
      });
    });
    const publisher = await WebSocketClient.open((nodes[0] as { url: string }).url);
    await new Promise((r) => setTimeout(r, 300));
    const before = await counters();
    const cpuBefore = nodes.map((n) => cpuSeconds(n.child.pid as number));
    const start = performance.now();
    const total = RATE * SECONDS;
    for (let n = 0; n < total; n++) {
      const wait = start + (n * 1000) / RATE - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      void publisher.publish('/bench/cluster', { t: performance.now() });
    }
    const deadline = Date.now() + 10_000;
    while (latencies.length < total * SUBSCRIBERS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const seconds = (performance.now() - start) / 1000;
    const cpu = nodes.map((n, i) => cpuSeconds(n.child.pid as number) - (cpuBefore[i] as number));
    const after = await counters();
    const perRedis = after.calls.map((n, i) => n - (before.calls[i] ?? 0));
    const expectedPerNode = (total * SUBSCRIBERS) / 2;
    latencies.sort((a, b) => a - b);
    const pct = (p: number) =>
      Number((latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0).toFixed(1));
    for (const c of [...clients, publisher]) c.close();
    const delivered = Math.max(1, latencies.length);
    return {
      server,
      subscribers: SUBSCRIBERS,
      published: total,
      deliveries: latencies.length,
      deliveredPct: Number(((100 * latencies.length) / (total * SUBSCRIBERS)).toFixed(1)),
      perSecond: Math.round(latencies.length / seconds),
      sharePerNode: perNode.map((n) => Number(((100 * n) / expectedPerNode).toFixed(1))),
      p50: pct(50),
      p99: pct(99),
      redisPublishesPerPublish: Number((perRedis.reduce((a, b) => a + b, 0) / total).toFixed(2)),
      cpuUsPerDelivery: Number(((1e6 * cpu.reduce((a, b) => a + b, 0)) / delivered).toFixed(2)),
      redisCpuUsPerDelivery: Number(((1e6 * (after.redisCpu - before.redisCpu)) / delivered).toFixed(2)),
      cpuUsPerDeliveryPerNode: perNode.map((n, i) => Number(((1e6 * (cpu[i] as number)) / Math.max(1, n)).toFixed(2))),
      ...(cluster ? { spublishPerShard: perRedis, busPublishes: after.bus - before.bus } : {}),
    };
  } finally {
    for (const n of nodes) n.child.kill('SIGKILL');
    if (!cluster) {
      const [redis] = admins as [Redis];
      for (const pattern of [`${namespace}:*`, `/${namespace}/*`]) {
        const keys = await redis.keys(pattern);
        if (keys.length > 0) await redis.del(...keys);
      }
    }
  }
}

const results: PairResult[] = [];
for (const server of cluster ? (['express-bayeux'] as const) : (['express-bayeux', 'faye'] as const)) {
  const result = await run(server);
  results.push(result);
  console.log(
    `${server}: 2 nodes on Redis${cluster ? ' Cluster' : ''}, ${SUBSCRIBERS} WebSocket subscribers split over both, ${RATE} msg/s for ${SECONDS} s: ` +
      `${result.perSecond} deliveries/s, ${result.deliveredPct}% delivered, p50 ${result.p50} ms, p99 ${result.p99} ms; ` +
      `CPU ${result.cpuUsPerDelivery} µs per delivery (per node: ${result.cpuUsPerDeliveryPerNode.join(', ')}), Redis ${result.redisCpuUsPerDelivery} µs; ` +
      `Redis PUBLISH per publish ${result.redisPublishesPerPublish} (other Redis users included); share per node ${result.sharePerNode.join('%, ')}%` +
      (result.spublishPerShard
        ? `; SPUBLISH per shard: ${result.spublishPerShard.join(', ')}; publishes over the cluster bus: ${result.busPublishes}`
        : ''),
  );
}
const [ours, faye] = results;
if (ours !== undefined && faye !== undefined) {
  const ratio = ours.cpuUsPerDelivery / faye.cpuUsPerDelivery;
  const withRedis = (ours.cpuUsPerDelivery + ours.redisCpuUsPerDelivery) / (faye.cpuUsPerDelivery + faye.redisCpuUsPerDelivery);
  console.log(
    `CPU per delivery, express-bayeux / Faye + faye-redis: nodes ${ratio.toFixed(3)}, nodes and Redis ${withRedis.toFixed(3)} (target <= 0.15)`,
  );
  const table = [
    `# Two nodes on one Redis (${new Date().toISOString().slice(0, 10)})`,
    '',
    `${SUBSCRIBERS} WebSocket subscribers split over two node processes, one publisher on the first node, ${RATE} msg/s for ${SECONDS} s;`,
    "CPU is both nodes' (all threads, schedstat) over the publishing window, per delivery. One run on a 2-core machine shared",
    'with the load generator and Redis.',
    '',
    "| server | deliveries/s | delivered | nodes' CPU µs per delivery (node 1, node 2) | Redis CPU µs per delivery | Redis PUBLISH per publish | p50 / p99 ms |",
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${r.server === 'faye' ? 'Faye + faye-redis' : 'express-bayeux (redisEngine)'} | ${r.perSecond} | ${r.deliveredPct} % | ${r.cpuUsPerDelivery} (${r.cpuUsPerDeliveryPerNode.join(', ')}) | ${r.redisCpuUsPerDelivery} | ${r.redisPublishesPerPublish} | ${r.p50} / ${r.p99} |`,
    ),
    '',
    `express-bayeux / Faye + faye-redis, CPU per delivery: nodes ${ratio.toFixed(3)}, nodes and Redis ${withRedis.toFixed(3)} (issue 26's target: <= 0.15).`,
    '',
  ].join('\n');
  saveResults('pair', table, { date: new Date().toISOString(), rate: RATE, seconds: SECONDS, results, ratio, withRedis }, 'BENCH_RESULTS');
}
if (cluster) {
  for (const admin of admins) admin.disconnect();
  await cluster.kill();
} else {
  for (const admin of admins) admin.disconnect();
}
process.exit(0);
