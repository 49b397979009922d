/**
 * `node --import tsx bench/cluster.ts`: two express-bayeux processes on one
 * Redis act as one server. Subscribers (WebSocket) are split over both nodes;
 * one publisher on the first node publishes at BENCH_RATE for BENCH_SECONDS.
 * Prints delivered/s, share and latency, and the Redis commands per publish.
 * BENCH_REDIS_CLUSTER=1 runs the same on a Redis Cluster of three primaries
 * started for the run (sharded pub/sub), and counts SPUBLISH per shard and
 * publishes that crossed the cluster bus.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { startCluster } from '../test/helpers/redis-server.js';
import { type Msg, openClients, WebSocketClient } from './clients.js';

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
const RATE = Number(process.env.BENCH_RATE ?? 20);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const NAMESPACE = `bayeux-bench-${randomBytes(4).toString('hex')}`;
const ON_CLUSTER = process.env.BENCH_REDIS_CLUSTER === '1';
const cluster = ON_CLUSTER ? await startCluster(3) : undefined;
// One admin connection per Redis: the shared one, or each primary of the cluster.
const admins = cluster ? cluster.nodes.map((n) => new Redis(n.port, '127.0.0.1')) : [new Redis(REDIS_URL)];
if (cluster) {
  for (const admin of admins) {
    while (!/cluster_state:ok/.test(String(await admin.call('CLUSTER', 'INFO')))) await new Promise((r) => setTimeout(r, 100));
  }
}

async function node(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'servers', 'ours.ts')], {
    env: {
      ...process.env,
      ENGINE: 'redis',
      REDIS_URL,
      NAMESPACE,
      ...(cluster ? { REDIS_CLUSTER: JSON.stringify(cluster.addresses) } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: child.stdout as NodeJS.ReadableStream }), 'line')) as [string];
  const { port, path } = JSON.parse(line) as { port: number; path: string };
  return { child, url: `ws://127.0.0.1:${port}${path}` };
}

const nodes = [await node(), await node()];
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
/** Per Redis: PUBLISH + SPUBLISH calls, and publishes received over the cluster bus. */
async function counters(): Promise<{ calls: number[]; bus: number }> {
  const calls: number[] = [];
  let bus = 0;
  for (const admin of admins) {
    const stats = await admin.info('commandstats');
    const count = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
    calls.push(count('publish') + count('spublish'));
    if (cluster) bus += Number(/cluster_stats_messages_publish_received:(\d+)/.exec(String(await admin.call('CLUSTER', 'INFO')))?.[1] ?? 0);
  }
  return { calls, bus };
}
const before = await counters();
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
const after = await counters();
const perRedis = after.calls.map((n, i) => n - (before.calls[i] ?? 0));
const published = perRedis.reduce((a, b) => a + b, 0);
const expectedPerNode = (total * SUBSCRIBERS) / 2;
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]?.toFixed(1);
console.log(
  `2 nodes on Redis, ${SUBSCRIBERS} WebSocket subscribers split over both, ${RATE} msg/s for ${SECONDS} s: ` +
    `${(latencies.length / seconds).toFixed(0)} deliveries/s, ${((100 * latencies.length) / (total * SUBSCRIBERS)).toFixed(1)}% delivered, ` +
    `p50 ${pct(50)} ms, p99 ${pct(99)} ms; Redis PUBLISH commands: ${published} for ${total} publishes (other Redis users included)`,
);
console.log(
  `delivered share per node: ${perNode.map((n) => `${((100 * n) / expectedPerNode).toFixed(1)}%`).join(', ')}` +
    (cluster ? `; SPUBLISH per shard: ${perRedis.join(', ')}; publishes over the cluster bus: ${after.bus - before.bus}` : ''),
);
for (const c of [...clients, publisher]) c.close();
for (const n of nodes) n.child.kill('SIGKILL');
if (cluster) {
  for (const admin of admins) admin.disconnect();
  await cluster.kill();
} else {
  const [redis] = admins as [Redis];
  const keys = await redis.keys(`${NAMESPACE}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
}
process.exit(0);
