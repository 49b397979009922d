/**
 * Who is subscribed to a channel, cluster-wide: `<ns>:presence:<channel>` is a
 * hash clientId -> `{ userKey, data }`, written in the same pipeline as the
 * session's subscription set (O(1) Redis work per channel subscribed or
 * unsubscribed) and cleaned when the session ends, on whichever node ends it
 * (also for sessions of a node that died, once the sweeper expires them).
 * Reads are bounded: HSCAN up to a limit, never HGETALL.
 */
import type { ChainableCommander } from 'ioredis';
import type { PresenceEntry } from '../engine.js';
import type { SubscriptionChange } from '../local-sessions.js';
import type { Session } from '../session.js';
import type { RedisClient } from './connection.js';
import type { KeyOf } from './user-index.js';

/** Entries asked of Redis per HSCAN step. */
const SCAN_COUNT = 200;

export class PresenceStore {
  constructor(
    private readonly redis: () => RedisClient,
    private readonly key: KeyOf,
  ) {}

  /** Queues the presence writes of a subscription change on `pipeline`. */
  write(pipeline: ChainableCommander, session: Session, channels: readonly string[], change: SubscriptionChange): void {
    if (change === 'subscribe') {
      const value = JSON.stringify({ userKey: session.userKey ?? null, data: session.data });
      for (const channel of channels) pipeline.hset(this.key('presence', channel), session.id, value);
    } else {
      for (const channel of channels) pipeline.hdel(this.key('presence', channel), session.id);
    }
  }

  /** Queues the removal of an ended session from every channel it was in. */
  forget(pipeline: ChainableCommander, id: string, channels: readonly string[]): void {
    for (const channel of channels) pipeline.hdel(this.key('presence', channel), id);
  }

  /** Up to `limit` subscribers of exactly `channel`. */
  async list(channel: string, limit: number): Promise<PresenceEntry[]> {
    const entries: PresenceEntry[] = [];
    let cursor = '0';
    do {
      const [next, flat] = await this.redis().hscan(this.key('presence', channel), cursor, 'COUNT', SCAN_COUNT);
      cursor = next;
      for (let i = 0; i + 1 < flat.length && entries.length < limit; i += 2) {
        const { userKey, data } = JSON.parse(flat[i + 1] as string) as { userKey: string | null; data: Record<string, unknown> };
        entries.push({ clientId: flat[i] as string, userKey: userKey ?? undefined, data });
      }
    } while (cursor !== '0' && entries.length < limit);
    return entries;
  }
}
