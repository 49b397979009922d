/**
 * `npm run bench:rolling`: issue 28's deploy target. Three Redis-engine nodes
 * behind a balancer that sends each new connection to a node whose health is
 * ok (test/helpers/balancer.ts); ROLLING_CLIENTS (300) of our clients, half
 * on WebSocket and half on long-polling, subscribed to one channel WITHOUT
 * history; ROLLING_RATE (50) messages a second published through the node
 * that stays. Node A is drained and started again, then node B, one after
 * the other, while the messages flow.
 *
 * Target: 100 % delivered, none twice, in order, and every client served
 * again within 5 s (its longest gap between two messages). Writes
 * bench/results/rolling.{md,json} (ROLLING_RESULTS=0: not) and exits 1 when
 * a target is missed. Every wait is bounded.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { BayeuxClient } from '../lib/client/index.js';
import { type DrainResult, redisEngine } from '../lib/index.js';
import { healthBalancer } from '../test/helpers/balancer.js';
import { dropNamespace, REDIS_URL, testNamespace } from '../test/helpers/redis.js';
import { startServer, type TestServer, until } from '../test/helpers/server.js';
import { saveResults } from './results.js';

const CLIENTS = Number(process.env.ROLLING_CLIENTS ?? 300);
const RATE = Number(process.env.ROLLING_RATE ?? 50);
/** Messages flow this long before, between and after the two restarts. */
const STEADY = 3000;
const DRAIN_TIMEOUT = 15_000;
const DELIVERY_TIMEOUT = 30_000;
const TARGET_GAP = 5000;
const CHANNEL = '/plain/feed';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

interface Seen {
  transport: string;
  numbers: number[];
  times: number[];
}

const namespace = testNamespace('rolling-bench');
/**
 * The TCP balancer passes no X-Forwarded-For, so every client is 127.0.0.1 to
 * the nodes: the per-IP cap (default 100 held polls and sockets) must let all
 * of them onto one node, or the clients of a draining node find no room on
 * the others and their queues end with it (what a proxy without
 * `trust proxy` does to a deploy; see the README's "Behind a proxy").
 */
const CAP = Number(process.env.ROLLING_CAP ?? 2 * CLIENTS);
const start = (): Promise<TestServer> =>
  startServer({ engine: redisEngine({ url: REDIS_URL, namespace }), timeout: 10_000, clientMaxConnections: CAP }, { websocket: true });

const nodes: TestServer[] = [];
const clients: BayeuxClient[] = [];
const seen: Seen[] = [];
const delay = monitorEventLoopDelay({ resolution: 10 });
let lb: Awaited<ReturnType<typeof healthBalancer>> | undefined;
try {
  for (let i = 0; i < 3; i++) nodes.push(await start());
  const stays = nodes[2] as TestServer;
  lb = await healthBalancer(() => nodes);
  console.log(`connecting ${CLIENTS} clients (half WebSocket, half long-polling) through the balancer...`);
  for (let i = 0; i < CLIENTS; i++) {
    const client = new BayeuxClient(lb.url, { transports: i % 2 === 0 ? ['websocket', 'long-polling'] : ['long-polling'] });
    const mine: Seen = { transport: i % 2 === 0 ? 'websocket' : 'long-polling', numbers: [], times: [] };
    clients.push(client);
    seen.push(mine);

    await client.connect();
    await client.subscribe(CHANNEL, (m) => {
      mine.numbers.push((m.data as { n: number }).n);
      mine.times.push(performance.now());
    });
  }
  delay.enable();
  // The publisher: message n at t0 + n / RATE, through the node that is never restarted.
  let published = 0;
  let publishing = true;
  const t0 = performance.now();
  const publisher = (async () => {
    while (publishing) {
      await stays.bayeux.publish(CHANNEL, { n: published++ });
      const due = t0 + (published * 1000) / RATE - performance.now();
      if (due > 0) await sleep(due);
    }
  })();
  const restarts: { node: string; drain: DrainResult; restartedAfter: number }[] = [];
  await sleep(STEADY);
  for (const index of [0, 1]) {
    const old = nodes[index] as TestServer;
    const began = performance.now();
    const drain = await old.bayeux.drain({ timeout: DRAIN_TIMEOUT });
    await old.close();
    nodes[index] = await start();
    restarts.push({ node: 'AB'[index] as string, drain, restartedAfter: Math.round(performance.now() - began) });
    console.log(`node ${'AB'[index]}: drained ${JSON.stringify(drain)}, running again after ${restarts.at(-1)?.restartedAfter} ms`);
    await sleep(STEADY);
  }
  publishing = false;
  await publisher;
  const seconds = (performance.now() - t0) / 1000;
  delay.disable();
  await until(() => seen.every((s) => s.numbers.length >= published), 'every client to get every message', DELIVERY_TIMEOUT).catch(
    () => undefined,
  );

  // Per client: what it missed, got twice, got out of order, and its longest wait between two messages.
  const per = seen.map((s) => {
    const distinct = new Set(s.numbers);
    let outOfOrder = 0;
    for (let i = 1; i < s.numbers.length; i++) if ((s.numbers[i] as number) <= (s.numbers[i - 1] as number)) outOfOrder++;
    let gap = 0;
    for (let i = 1; i < s.times.length; i++) gap = Math.max(gap, (s.times[i] as number) - (s.times[i - 1] as number));
    return { transport: s.transport, missing: published - distinct.size, twice: s.numbers.length - distinct.size, outOfOrder, gap };
  });
  const gaps = per.map((p) => p.gap).sort((x, y) => x - y);
  const byTransport = (t: string) =>
    per
      .filter((p) => p.transport === t)
      .map((p) => p.gap)
      .sort((x, y) => x - y);
  const sum = (f: (p: (typeof per)[number]) => number) => per.reduce((total, p) => total + f(p), 0);
  const result = {
    date: new Date().toISOString(),
    clients: CLIENTS,
    rate: RATE,
    published,
    seconds: Math.round(seconds * 10) / 10,
    deliveries: published * CLIENTS,
    delivered: sum((p) => published - p.missing),
    missing: sum((p) => p.missing),
    twice: sum((p) => p.twice),
    outOfOrder: sum((p) => p.outOfOrder),
    restarts,
    longestGapMs: {
      p50: Math.round(quantile(gaps, 0.5)),
      p99: Math.round(quantile(gaps, 0.99)),
      max: Math.round(gaps.at(-1) ?? 0),
      websocketMax: Math.round(byTransport('websocket').at(-1) ?? 0),
      longPollingMax: Math.round(byTransport('long-polling').at(-1) ?? 0),
    },
    eventLoopDelayP99Ms: Math.round(delay.percentile(99) / 1e6),
  };
  const missed = [
    result.missing > 0 && `${result.missing} deliveries missing`,
    result.twice > 0 && `${result.twice} delivered twice`,
    result.outOfOrder > 0 && `${result.outOfOrder} out of order`,
    result.longestGapMs.max > TARGET_GAP && `a client waited ${result.longestGapMs.max} ms (target ${TARGET_GAP})`,
  ].filter((m): m is string => typeof m === 'string');
  const table = [
    `# Rolling restart of 2 of 3 Redis nodes (${result.date.slice(0, 10)})`,
    '',
    `${CLIENTS} clients (half WebSocket, half long-polling) on one channel without history, ${RATE} msg/s published through the node`,
    'that stays; nodes A and B drained and started again one after the other behind a balancer that follows `health()`.',
    'Everything (3 nodes, the balancer, the clients) runs in one Node process on this 2-core machine.',
    `All clients reach the nodes from 127.0.0.1 (a TCP balancer), so \`clientMaxConnections\` is ${CAP}.`,
    '',
    '| measure | value | target |',
    '| --- | --- | --- |',
    `| messages published | ${published} in ${result.seconds} s | |`,
    `| deliveries | ${result.delivered} of ${result.deliveries} (${((100 * result.delivered) / result.deliveries).toFixed(2)} %) | 100 % |`,
    `| delivered twice | ${result.twice} | 0 |`,
    `| out of order | ${result.outOfOrder} | 0 |`,
    ...restarts.map(
      (r) =>
        `| drain of ${r.node} | ${r.drain.sessions} sessions moved, ${r.drain.remaining} left, ${r.drain.duration} ms; running again after ${r.restartedAfter} ms | 0 left |`,
    ),
    `| longest wait between two messages, per client: p50 / p99 / max | ${result.longestGapMs.p50} / ${result.longestGapMs.p99} / ${result.longestGapMs.max} ms | max ≤ ${TARGET_GAP} ms |`,
    `| … max on WebSocket / long-polling | ${result.longestGapMs.websocketMax} / ${result.longestGapMs.longPollingMax} ms | |`,
    `| event-loop delay p99 while publishing | ${result.eventLoopDelayP99Ms} ms | |`,
    '',
    missed.length === 0 ? 'Every target met.' : `Missed: ${missed.join('; ')}.`,
    '',
  ].join('\n');
  console.log(`\n${table}`);
  saveResults('rolling', table, result, 'ROLLING_RESULTS');
  process.exitCode = missed.length === 0 ? 0 : 1;
} finally {
  await Promise.all(clients.map((client) => client.disconnect().catch(() => undefined)));
  await lb?.close();
  for (const node of nodes) await node.close();
  await dropNamespace(namespace);
}
