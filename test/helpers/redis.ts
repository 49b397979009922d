/** Access to the test Redis (REDIS_URL, default redis://127.0.0.1:6379), with cleanup of test namespaces. */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Engine } from '../../lib/engines/engine.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Undefined when Redis answers; otherwise why Redis tests skip (an Error when CI requires Redis). */
export async function redisMissing(): Promise<string | undefined> {
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
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
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
