/**
 * Chaos scenarios shared by `test/redis/chaos.test.ts` (short) and
 * `npm run chaos` (long): subscribers and a publisher under load while Redis
 * is killed and restarted, frozen with CLIENT PAUSE, or a node is killed.
 * Each run reports what was delivered and lost, how long recovery took, and
 * how memory and sockets behaved during the fault.
 */
import { Redis } from 'ioredis';
import { type RedisEngine, redisEngine } from '../../lib/index.js';
import { PublishLoad, Subscriber } from './load.js';
import { startNodeProcess } from './node-process.js';
import { clusterFormed, startCluster, startRedis } from './redis-server.js';
import { startServer, type TestServer } from './server.js';

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface ChaosOptions {
  /** Long-polling subscribers. */
  subscribers: number;
  /** Publishes per second. */
  rate: number;
  /** How long the fault lasts (ms); a node kill is instant. */
  faultMs: number;
}

export interface ChaosResult {
  scenario: string;
  subscribers: number;
  faultMs: number;
  accepted: number;
  refused: number;
  /** Deliveries over accepted publishes × subscribers. */
  deliveredShare: number;
  /** Accepted publishes a subscriber never got (summed over subscribers). */
  lost: number;
  /** Of those, published after every subscriber was receiving again (should be 0). */
  lostAfterRecovery: number;
  /** From the end of the fault to every subscriber receiving a message published after it. */
  recoveryMs: number;
  /** Heap (MB) before the fault, the most seen during it and at its end (servers and clients of this process; after a GC with --expose-gc). */
  heapMB: { before: number; max: number; end: number };
  /** Open sockets on the in-process servers before, at most during, and at the end of the fault (-1: not measured). */
  sockets: { before: number; max: number; end: number };
}

interface Setup {
  urlsFor(i: number): string[];
  publishUrl: string;
  fault(): Promise<void>;
  heal(): Promise<void>;
  sockets(): Promise<number>;
  close(): Promise<void>;
}

const collect = (globalThis as { gc?: () => void }).gc;
const mb = (): number => {
  collect?.();
  return Math.round(process.memoryUsage().heapUsed / 1e5) / 10;
};

async function run(scenario: string, setup: Setup, options: ChaosOptions): Promise<ChaosResult> {
  const channel = `/chaos/${scenario}`;
  const subscribers = Array.from({ length: options.subscribers }, (_, i) => new Subscriber(setup.urlsFor(i), channel));
  const load = new PublishLoad(setup.publishUrl, channel, Math.round(1000 / options.rate));
  try {
    await Promise.all(subscribers.map((s) => s.start()));
    load.start();
    await Promise.all(subscribers.map((s) => s.count(1)));
    const heap = { before: mb(), max: 0, end: 0 };
    const before = await setup.sockets();
    const sockets = { before, max: before, end: before };
    const sample = async (): Promise<void> => {
      heap.end = mb();
      heap.max = Math.max(heap.max, heap.end);
      sockets.end = await setup.sockets();
      sockets.max = Math.max(sockets.max, sockets.end);
    };
    const sampler = setInterval(() => void sample(), 1000);
    await setup.fault();
    await pause(options.faultMs);
    await sample();
    await setup.heal();
    const healedAt = Date.now();
    clearInterval(sampler);
    // Recovered: every subscriber got a message published after the fault ended, on the
    // session it keeps (a node may deliver to a session Redis lost, then end it: the client joins again).
    const recovered = (s: Subscriber): number | undefined => {
      const since = Math.max(healedAt, s.joinedAt);
      let first: number | undefined;
      for (const [seq, at] of s.received) {
        // The end marker's send time is not kept: received after the client's (re)join, it was sent after too.
        // A client that joins again after publishing stopped (a loaded machine) recovers with the marker.
        const sent = seq === -1 ? at : (load.accepted.get(seq) ?? 0);
        if (sent > since && (first === undefined || at < first)) first = at;
      }
      return first;
    };
    const deadline = Date.now() + 60_000;
    while (subscribers.some((s) => recovered(s) === undefined)) {
      if (Date.now() > deadline) throw new Error(`${scenario}: deliveries did not resume within 60 s`);
      await pause(50);
    }
    await pause(1000);
    await load.stop();
    // A client that was joining again (its session lost with Redis's data) when the marker
    // went out missed it with the old session: mark again until every client has it.
    const markDeadline = Date.now() + 30_000;
    while (!subscribers.every((s) => s.received.has(-1))) {
      if (Date.now() > markDeadline) throw new Error(`${scenario}: the end marker did not reach every subscriber within 30 s`);
      await pause(500);
      if (!subscribers.every((s) => s.received.has(-1))) await load.mark();
    }
    // Measured once the run is over, so a client that joined again late moves recovery later.
    const recoveredAt = Math.max(...subscribers.map((s) => recovered(s) ?? Number.POSITIVE_INFINITY));
    let delivered = 0;
    let lost = 0;
    let lostAfterRecovery = 0;
    for (const s of subscribers) {
      for (const [seq, sent] of load.accepted) {
        if (s.received.has(seq)) delivered++;
        else {
          lost++;
          if (sent > recoveredAt) lostAfterRecovery++;
        }
      }
    }
    return {
      scenario,
      subscribers: options.subscribers,
      faultMs: options.faultMs,
      accepted: load.accepted.size,
      refused: load.refused,
      deliveredShare: Math.round((1000 * delivered) / (load.accepted.size * options.subscribers)) / 1000,
      lost,
      lostAfterRecovery,
      recoveryMs: recoveredAt - healedAt,
      heapMB: heap,
      sockets,
    };
  } finally {
    // Servers first: closing answers the polls they hold, so the subscribers stop at once.
    const stopped = subscribers.map((s) => s.stop());
    await setup.close();
    await Promise.all(stopped);
  }
}

function countSockets(servers: TestServer[]): () => Promise<number> {
  return async () => {
    let total = 0;
    for (const server of servers) {
      total += await new Promise<number>((resolve) => server.http.getConnections((_, n) => resolve(n)));
    }
    return total;
  };
}

/** Where a scenario's Redis is: a Redis of its own, or a Redis Cluster of three primaries of its own. */
export type ChaosTopology = 'redis' | 'cluster';

/** The scenario's Redis (or cluster), with the faults it can suffer. */
interface ChaosRedis {
  engine(): RedisEngine;
  /** Environment of a node process on it (test/fixtures/redis-node.ts). */
  env: Record<string, string>;
  /** Every Redis server killed. */
  kill(): Promise<void>;
  /** Started again, empty (a cluster's nodes keep their slots, not their data). */
  restart(): Promise<void>;
  /** Every Redis server frozen with CLIENT PAUSE for `ms`. */
  pause(ms: number): Promise<void>;
  close(): Promise<void>;
}

async function chaosRedis(topology: ChaosTopology): Promise<ChaosRedis> {
  const namespace = 'chaos';
  if (topology === 'redis') {
    const redis = await startRedis();
    const admin = new Redis(redis.url);
    // The fault's own connection: while Redis is down it reconnects quietly.
    admin.on('error', () => {});
    return {
      engine: () => redisEngine({ url: redis.url, namespace }),
      env: { REDIS_URL: redis.url, NAMESPACE: namespace },
      kill: () => redis.kill(),
      restart: () => redis.restart(),
      pause: async (ms) => {
        await admin.client('PAUSE', ms, 'ALL');
      },
      close: async () => {
        admin.disconnect();
        await redis.kill();
      },
    };
  }
  const cluster = await startCluster(3);
  const admins = cluster.nodes.map((n) => new Redis(n.url).on('error', () => {}));
  return {
    engine: () => redisEngine({ cluster: cluster.addresses, namespace }),
    env: { REDIS_CLUSTER: cluster.seeds, NAMESPACE: namespace },
    kill: async () => {
      await Promise.all(cluster.nodes.map((n) => n.kill()));
    },
    restart: async () => {
      await Promise.all(cluster.nodes.map((n) => n.restart()));
      for (const node of cluster.nodes) await clusterFormed(node.port);
    },
    pause: async (ms) => {
      await Promise.all(admins.map((admin) => admin.client('PAUSE', ms, 'ALL')));
    },
    close: async () => {
      for (const admin of admins) admin.disconnect();
      await cluster.kill();
    },
  };
}

/** Two in-process nodes on a Redis (or cluster) of our own, which is killed and then restarted empty. */
export async function redisRestart(options: ChaosOptions, topology: ChaosTopology = 'redis'): Promise<ChaosResult> {
  const redis = await chaosRedis(topology);
  const nodes = [
    await startServer({ timeout: 5000, engine: redis.engine() }),
    await startServer({ timeout: 5000, engine: redis.engine() }),
  ];
  return run(
    `${topology}-restart`,
    {
      urlsFor: (i) => [(nodes[i % 2] as TestServer).url],
      publishUrl: (nodes[0] as TestServer).url,
      fault: () => redis.kill(),
      heal: () => redis.restart(),
      sockets: countSockets(nodes),
      close: async () => {
        for (const node of nodes) await node.close();
        await redis.close();
      },
    },
    options,
  );
}

/** Two in-process nodes; their Redis (every primary of a cluster) is frozen with CLIENT PAUSE for the fault's length. */
export async function redisPause(options: ChaosOptions, topology: ChaosTopology = 'redis'): Promise<ChaosResult> {
  const redis = await chaosRedis(topology);
  const nodes = [
    await startServer({ timeout: 5000, engine: redis.engine() }),
    await startServer({ timeout: 5000, engine: redis.engine() }),
  ];
  return run(
    `${topology}-pause`,
    {
      urlsFor: (i) => [(nodes[i % 2] as TestServer).url],
      publishUrl: (nodes[0] as TestServer).url,
      fault: () => redis.pause(options.faultMs),
      heal: async () => {},
      sockets: countSockets(nodes),
      close: async () => {
        for (const node of nodes) await node.close();
        await redis.close();
      },
    },
    options,
  );
}

/** Two node processes; the one half of the subscribers poll is killed (SIGKILL): they carry on at the other. */
export async function nodeKill(options: ChaosOptions, topology: ChaosTopology = 'redis'): Promise<ChaosResult> {
  const redis = await chaosRedis(topology);
  const victim = await startNodeProcess(redis.env);
  const survivor = await startNodeProcess(redis.env);
  return run(
    topology === 'redis' ? 'node-kill' : 'cluster-node-kill',
    {
      urlsFor: (i) => (i % 2 === 0 ? [victim.url, survivor.url] : [survivor.url, victim.url]),
      publishUrl: survivor.url,
      fault: () => victim.kill('SIGKILL'),
      heal: async () => {},
      sockets: async () => -1,
      close: async () => {
        await victim.kill('SIGKILL');
        await survivor.kill('SIGKILL');
        await redis.close();
      },
    },
    options,
  );
}
