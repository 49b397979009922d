/**
 * Indexes that let any node find sessions by what happened outside Bayeux:
 * `<ns>:user:<userKey>` (set of clientIds bound to a user, for sign-out
 * everywhere) and `<ns>:credentials` (zset, score = when the credentials seen
 * at handshake expire). Both are written beside the session hash, never read
 * on the message path; a stale member only costs a no-op destroy.
 */
import type { ChainableCommander } from 'ioredis';
import type { SessionInit } from '../session.js';
import type { RedisClient } from './connection.js';

/** Builds a key in the engine's namespace (the engine's own `key()`). */
export type KeyOf = (...parts: string[]) => string;

/** Most expired credentials one sweep ends, so a sweep stays short. */
const SWEEP_BATCH = 500;

export class UserIndex {
  constructor(
    private readonly redis: () => RedisClient,
    private readonly key: KeyOf,
  ) {}

  /** Records a new session; called before the session hash exists, so a crash leaves a harmless stale member. */
  async add(init: SessionInit): Promise<void> {
    if (init.userKey === undefined && init.expiresAt === undefined) return;
    const pipeline = this.redis().pipeline();
    if (init.userKey !== undefined) pipeline.sadd(this.key('user', init.userKey), init.id);
    if (init.expiresAt !== undefined) pipeline.zadd(this.key('credentials'), init.expiresAt, init.id);
    await pipeline.exec();
  }

  /** Forgets an ended (or never created) session. */
  async remove(id: string, userKey: string | undefined): Promise<void> {
    const pipeline = this.redis().pipeline();
    this.forget(pipeline, id, userKey);
    await pipeline.exec();
  }

  /** Queues what `remove` does on a pipeline the caller sends. */
  forget(pipeline: ChainableCommander, id: string, userKey: string | undefined): void {
    if (userKey !== undefined && userKey !== '') pipeline.srem(this.key('user', userKey), id);
    pipeline.zrem(this.key('credentials'), id);
  }

  /** ClientIds bound to a user, on every node. */
  sessionsOf(userKey: string): Promise<string[]> {
    return this.redis().smembers(this.key('user', userKey));
  }

  /** Sessions whose credentials expired by `now`, at most a batch. */
  expired(now: number): Promise<string[]> {
    return this.redis().zrangebyscore(this.key('credentials'), '-inf', now, 'LIMIT', 0, SWEEP_BATCH);
  }
}
