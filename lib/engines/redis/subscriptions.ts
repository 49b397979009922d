/**
 * Subscriptions: `<ns>:subs:<id>` in Redis is the truth every node reads when
 * a session moves; the owner also indexes them in memory to route broadcasts,
 * and subscribes to their channels in Redis (interest.ts). A node that
 * changes the subscriptions of a session it does not own tells the owner and
 * waits for its acknowledgement, so that once the client has its reply the
 * owner receives the channel's messages.
 */
import type { ReplayFrom } from '../history/config.js';
import type { SubscriptionChange } from '../local-sessions.js';
import type { Session } from '../session.js';
import type { RedisNode } from './node.js';
import type { Ownership } from './ownership.js';
import type { PresenceStore } from './presence.js';

export class Subscriptions<User> {
  constructor(
    private readonly node: RedisNode<User>,
    private readonly presence: PresenceStore,
    private readonly ownership: Ownership<User>,
  ) {}

  /** `Engine.subscribe`: with a replay, the history's seamless path. */
  async subscribe(session: Session<User>, channels: readonly string[], replay?: ReadonlyMap<string, ReplayFrom>): Promise<string[]> {
    const history = this.node.history;
    if (replay !== undefined && replay.size > 0 && history !== undefined && session.alive) {
      const added = await history.subscribe(session, channels, replay);
      // Replayed channels may be recorded without the subscription pipeline: make sure presence has them all.
      if (added.length > 0) {
        const pipeline = this.node.redis().pipeline();
        this.presence.write(pipeline, session, added, 'subscribe');
        await pipeline.exec();
      }
      return added;
    }
    return this.change(session, channels, 'subscribe');
  }

  /** Adds or removes subscriptions in Redis, then in the owner's index; returns those that changed. */
  async change(session: Session<User>, channels: readonly string[], change: SubscriptionChange): Promise<string[]> {
    const { node } = this;
    if (!session.alive || channels.length === 0) return [];
    const key = node.key('subs', session.id);
    const pipeline = node.redis().pipeline();
    for (const channel of channels) {
      if (change === 'subscribe') pipeline.sadd(key, channel);
      else pipeline.srem(key, channel);
    }
    this.presence.write(pipeline, session, channels, change);
    // The owner is read after the set is written: a node taking the session over reads the set after its claim (ownership.ts).
    pipeline.hget(node.key('session', session.id), 'owner');
    const results = (await pipeline.exec()) ?? [];
    const changed = channels.filter((_, i) => results[i]?.[1] === 1);
    if (changed.length === 0) return changed;
    const owner = results[results.length - 1]?.[1];
    if (typeof owner !== 'string') return changed;
    await this.ownership.tell(owner, session.id, changed, change);
    return changed;
  }
}
