/**
 * Access to the test Redis, with cleanup of test namespaces. One Redis at
 * REDIS_URL (default redis://127.0.0.1:6379), or, when REDIS_CLUSTER names a
 * Redis Cluster's nodes (`host:port,host:port`, set by test/redis-cluster/run.test.ts),
 * that cluster: the same test files then check every guarantee on both.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Cluster, Redis } from 'ioredis';
import type { Engine } from '../../lib/engines/engine.js';
import { seenBucket, seenBucketKeys } from '../../lib/engines/redis/last-seen.js';
import { type RedisEngine, type RedisEngineOptions, redisEngine } from '../../lib/index.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The Redis Cluster the tests run on, when REDIS_CLUSTER is set. */
const REDIS_CLUSTER: { host: string; port: number }[] | undefined = process.env.REDIS_CLUSTER?.split(',').map((address) => {
  const [host, port] = address.split(':');
  if (!host || !port || !/^\d+$/.test(port)) throw new Error(`REDIS_CLUSTER: "${address}" is not host:port`);
  return { host, port: Number(port) };
});

/** A Redis engine on the test Redis (or cluster). */
export function testEngine(namespace: string, options: Omit<RedisEngineOptions, 'url' | 'cluster' | 'namespace'> = {}): RedisEngine {
  const target = REDIS_CLUSTER === undefined ? { url: REDIS_URL } : { cluster: REDIS_CLUSTER };
  return redisEngine({ ...target, namespace, ...options });
}

/** Environment for a node process (test/fixtures/redis-node.ts) on the test Redis (or cluster). */
export function nodeEnv(namespace: string): Record<string, string> {
  return { REDIS_URL, NAMESPACE: namespace, ...(process.env.REDIS_CLUSTER ? { REDIS_CLUSTER: process.env.REDIS_CLUSTER } : {}) };
}

/**
 * A skip reason for a test that only means something on one Redis (it inspects
 * its keys, MONITORs it or cuts its connections), when the run is on a cluster.
 */
export function oneRedisOnly(why: string): string | undefined {
  return REDIS_CLUSTER === undefined ? undefined : `on one Redis only: ${why} (test/redis/redis-cluster.test.ts covers the cluster's own)`;
}

/** A client of the test Redis (or cluster), for tests that read what the engine stored. */
export function adminRedis(): Redis | Cluster {
  return REDIS_CLUSTER === undefined ? new Redis(REDIS_URL) : new Cluster(REDIS_CLUSTER);
}

/** One Redis, or each primary of a cluster (once the cluster told its topology). */
export async function primaries(redis: Redis | Cluster): Promise<Redis[]> {
  if (redis instanceof Redis) return [redis];
  if (redis.status !== 'ready') await once(redis, 'ready', { signal: AbortSignal.timeout(10_000) });
  return redis.nodes('master');
}

/** The sorted set holding a session's last seen, as the engine names it here (lib/engines/redis/last-seen.ts). */
export function lastSeenKey(namespace: string, clientId: string): string {
  return REDIS_CLUSTER === undefined ? `${namespace}:sessions` : (seenBucketKeys(namespace)[seenBucket(clientId)] as string);
}

/** The name of a channel's key (`history`, `history-meta`, `n`), as the engine names it here. */
export function channelKey(namespace: string, channel: string, what: 'n' | 'history' | 'history-meta'): string {
  return REDIS_CLUSTER === undefined ? `${namespace}:${what}:${channel}` : `{${namespace}:${channel}}:${what}`;
}

/** Undefined when Redis answers; otherwise why Redis tests skip (an Error when CI requires Redis). */
export async function redisMissing(): Promise<string | undefined> {
  if (REDIS_CLUSTER !== undefined) {
    const probe = new Cluster(REDIS_CLUSTER, { clusterRetryStrategy: () => null, redisOptions: { connectTimeout: 2000 } });
    probe.on('error', () => {});
    try {
      await probe.ping();
      return undefined;
    } catch (err) {
      throw new Error(`REDIS_CLUSTER=${process.env.REDIS_CLUSTER} does not answer (${(err as Error).message})`);
    } finally {
      probe.disconnect();
    }
  }
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
    return undefined;
  } catch (err) {
    const why = `no Redis at ${REDIS_URL} (${(err as Error).message}); start one with: redis-server --daemonize yes --save ""`;
    if (process.env.BAYEUX_REQUIRE_REDIS === '1') throw new Error(`BAYEUX_REQUIRE_REDIS=1 but ${why}`);
    return why;
  } finally {
    probe.disconnect();
  }
}

/** A namespace no other test uses. */
export function testNamespace(name: string): string {
  return `bayeux-test:${name}:${randomBytes(4).toString('hex')}`;
}

/** Deletes every key of a namespace (never FLUSHALL: the Redis may be shared). */
export async function dropNamespace(namespace: string): Promise<void> {
  if (REDIS_CLUSTER === undefined) {
    const redis = new Redis(REDIS_URL);
    try {
      await dropMatching(redis, `${namespace}:*`);
    } finally {
      redis.disconnect();
    }
    return;
  }
  const cluster = new Cluster(REDIS_CLUSTER);
  try {
    // On a cluster the keys are `{ns}:...` and `{ns:<channel>}:...`, on every primary.
    for (const primary of await primaries(cluster)) {
      await dropMatching(primary, `{${namespace}}:*`);
      await dropMatching(primary, `{${namespace}:*`);
    }
  } finally {
    cluster.disconnect();
  }
}

/** Deletes the keys SCAN matches, one DEL per key in a pipeline (keys of a cluster node may be in several slots). */
async function dropMatching(redis: Redis, match: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 500);
    cursor = next;
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.del(key);
    if (keys.length > 0) await pipeline.exec();
  } while (cursor !== '0');
}

/** Creates `count` sessions straight in the engine, each subscribed to `channel` (for cost tests). */
export async function addSubscribers(engine: Engine, count: number, channel: string): Promise<void> {
  for (let i = 0; i < count; i++) {
    const session = await engine.createSession({
      id: `${channel}-${i}`,
      user: undefined,
      userKey: undefined,
      ip: `10.9.${i >> 8}.${i & 255}`,
      transport: 'long-polling',
      data: {},
    });
    await engine.subscribe(session, [channel]);
  }
}
