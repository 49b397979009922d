/**
 * Opens the engine's two Redis connections (commands, and the subscriber that
 * receives the stream) for the configured topology: one Redis by URL, a
 * primary found through Sentinel, or a Redis Cluster (sharded pub/sub). Every command is bounded: no offline queue
 * (a request during an outage fails at once instead of waiting in a queue that
 * grows with every retry), a command timeout for a Redis that hangs, and
 * reconnection with capped exponential backoff.
 */
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { loadIoredis } from './load.js';

/** A connection to one Redis or to a Redis Cluster: the engine uses the commands both speak. */
export type RedisClient = Redis | Cluster;

/** A Redis or Sentinel address. */
export interface RedisAddress {
  host: string;
  port: number;
}

/** Where the engine finds Redis. */
export interface RedisTopology {
  /** Redis URL. Default: `REDIS_URL` from the environment, else `redis://127.0.0.1:6379`. */
  url?: string;
  /** Sentinels to ask for the current primary of `name` (instead of `url`). */
  sentinels?: readonly RedisAddress[];
  /** The primary's name known to the Sentinels (with `sentinels`). */
  name?: string;
  /** Some nodes of a Redis Cluster (instead of `url`): keys share one hash tag, messages use sharded pub/sub. */
  cluster?: readonly RedisAddress[];
  /** Extra ioredis options (TLS, password...). */
  redis?: RedisOptions;
}

/** Reconnection delay: 100 ms doubling up to 2 s, with jitter so that many nodes do not reconnect in step. */
export function backoff(attempt: number): number {
  const base = Math.min(2000, 100 * 2 ** Math.min(attempt - 1, 5));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/** Checks the topology options; throws a TypeError naming the option. */
export function checkTopology(options: RedisTopology): void {
  const given = (['url', 'sentinels', 'cluster'] as const).filter((k) => options[k] !== undefined);
  if (given.length > 1) throw new TypeError(`redisEngine: give one of "url", "sentinels" or "cluster", not ${given.join(' and ')}`);
  if (options.cluster !== undefined) {
    if (!Array.isArray(options.cluster) || options.cluster.length === 0 || !options.cluster.every(isAddress)) {
      throw new TypeError('redisEngine: option "cluster" must be a non-empty array of { host, port }');
    }
  }
  if (options.sentinels !== undefined) {
    if (!Array.isArray(options.sentinels) || options.sentinels.length === 0 || !options.sentinels.every(isAddress)) {
      throw new TypeError('redisEngine: option "sentinels" must be a non-empty array of { host, port }');
    }
    if (typeof options.name !== 'string' || options.name === '') {
      throw new TypeError('redisEngine: option "name" (the primary\'s name known to the Sentinels) is required with "sentinels"');
    }
  } else if (options.name !== undefined) {
    throw new TypeError('redisEngine: option "name" only applies with "sentinels"');
  }
}

function isAddress(value: unknown): value is RedisAddress {
  const a = value as Partial<RedisAddress> | null;
  return typeof a === 'object' && a !== null && typeof a.host === 'string' && Number.isInteger(a.port);
}

/** The commands connection and its subscriber twin, not connected yet. */
export async function createClients(options: RedisTopology, commandTimeout: number): Promise<{ cmd: RedisClient; sub: RedisClient }> {
  const { Redis: RedisClient, Cluster } = await loadIoredis();
  const bounded: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    commandTimeout,
    connectTimeout: Math.max(commandTimeout, 1000),
    // A command cut by a disconnect already failed its request; sending it again later would act twice.
    autoResendUnfulfilledCommands: false,
    retryStrategy: backoff,
    // After a failover the old primary comes back as a replica: reconnect to find the new one.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
  };
  if (options.cluster !== undefined) {
    const { retryStrategy: _, enableOfflineQueue: __, ...node } = bounded;
    const seeds = options.cluster.map((a) => ({ host: a.host, port: a.port }));
    const cluster = (sharded: boolean): Cluster =>
      new Cluster(seeds, {
        lazyConnect: true,
        enableOfflineQueue: false,
        clusterRetryStrategy: backoff,
        // One subscriber per primary, so SSUBSCRIBE reaches the shard that owns the channel.
        shardedSubscribers: sharded,
        redisOptions: { ...node, ...options.redis },
      });
    return { cmd: cluster(false), sub: cluster(true) };
  }
  const cmd =
    options.sentinels !== undefined
      ? new RedisClient({
          ...bounded,
          sentinels: options.sentinels.map((s) => ({ host: s.host, port: s.port })),
          name: options.name,
          sentinelRetryStrategy: backoff,
          sentinelCommandTimeout: commandTimeout,
          // Sentinels announce a failover: move at once instead of after the old primary's connection times out.
          failoverDetector: true,
          ...options.redis,
        })
      : new RedisClient(options.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { ...bounded, ...options.redis });
  // The node subscribes on every ready itself (node.ts), also after ioredis gave a connection up:
  // ioredis's own resubscription would only send the same SUBSCRIBE a second time.
  return { cmd, sub: cmd.duplicate({ autoResubscribe: false }) };
}
