/**
 * The Redis engine: many processes and machines act as one Bayeux server.
 *
 * Ownership (ownership.ts): every session is delivered to by one node, its
 * owner. Only the owner holds its queue and indexes its subscriptions in
 * memory (`LocalSessions`, as the memory engine does for every session).
 *
 * One ordered stream: every node subscribes to `<ns>:stream`. A publish is a
 * single PUBLISH on it, whatever the number of subscribers (faye-redis
 * copied every message into every recipient's list); each node routes it to
 * the sessions it owns through its local wildcard index. Moving a session is
 * a marker on the same stream: the old owner delivers everything before the
 * marker and hands its queue over, the new one everything after, so nothing
 * is lost or doubled in the move.
 *
 * Keys: the sessions' (sessions.ts), `<ns>:node:<id>` (heartbeat with
 * expiry), `<ns>:sweep` (expiry lock). Channels: `<ns>:stream` (frames:
 * stream.ts), `<ns>:to:<node>` (queue hand-over replies). On a Redis
 * Cluster `<ns>` is written `{<ns>}`, so all of them share one slot, and the
 * channels are sharded (SSUBSCRIBE/SPUBLISH). Outages: see health.ts.
 *
 * Expiry: a sweeper on every node takes a short lock and ends sessions not
 * seen for `maxInterval` with one Lua script each, so the `disconnect` event
 * fires once in the cluster, also for sessions of a node that died.
 */
import type { Message } from '../../protocol/message.js';
import type { EngineHealth, EngineHost, Envelope, LocalCounts, PresenceEntry } from '../engine.js';
import type { ReplayFrom } from '../history/config.js';
import { LocalSessions, sweepEvery } from '../local-sessions.js';
import type { DisconnectReason, Session, SessionInit } from '../session.js';
import type { RateBucket, RateTake } from '../token-bucket.js';
import { GuardedEngine } from './guarded.js';
import { RedisHealth } from './health.js';
import { RedisHistory } from './history.js';
import { RedisNode } from './node.js';
import { Ownership } from './ownership.js';
import { savePositions } from './positions.js';
import { takeTokens } from './rate-limit.js';
import { SessionRecords } from './sessions.js';
import { type BroadcastFrame, decode, positionedHead, type StreamFrame } from './stream.js';
import { Subscriptions } from './subscriptions.js';
import type { RedisEngine, RedisEngineOptions } from './types.js';

export type { RedisEngine, RedisEngineOptions } from './types.js';

class RedisEngineImpl<User> implements RedisEngine<User> {
  readonly name = 'redis';
  private readonly local = new LocalSessions<User>('redisEngine', (session) =>
    this.node.track(this.records.destroy(session.id, 'overflow')),
  );
  private readonly node: RedisNode<User>;
  private readonly records: SessionRecords<User>;
  private readonly subscriptions: Subscriptions<User>;
  private readonly ownership: Ownership<User>;
  private ticking = false;
  private readonly deliverTo = (session: Session<User>, json: string): void => this.local.deliver(session, json);
  private readonly deliverKept = (session: Session<User>, frame: BroadcastFrame): void => {
    const offset = frame.offset as number;
    const history = this.node.history;
    if (history?.holding && history.keep(session.id, frame.channel, { offset, json: frame.json })) return;
    this.local.deliverAt(session, frame.json, frame.channel, offset);
  };

  constructor(
    options: RedisEngineOptions,
    private readonly state: RedisHealth,
  ) {
    this.node = new RedisNode<User>(options, state, this.local);
    this.records = new SessionRecords<User>(this.node);
    this.subscriptions = new Subscriptions<User>(this.node, this.records.presence);
    this.ownership = new Ownership<User>(this.node, options.handoverTimeout ?? 1000);
  }

  get nodeId(): string {
    return this.node.nodeId;
  }

  async open(host: EngineHost<User>): Promise<void> {
    const { node, state } = this;
    this.local.open(host);
    if (host.history !== undefined) {
      node.history = new RedisHistory<User>(host.history, {
        logger: host.logger,
        redis: () => node.redis(),
        key: (...parts) => node.key(...parts),
        sharded: node.sharded,
        send: (channel, payload) => node.send(channel, payload),
        deliver: (session, kept, channel) => this.local.deliverAt(session, kept.json, channel, kept.offset),
        rewind: (session, channel, offset) => this.local.rewind(session, channel, offset),
        owned: (id) => this.local.get(id),
        change: (session, channels, change) => this.subscriptions.change(session, channels, change),
        attach: (session, channel) => this.local.change(session, [channel], 'subscribe'),
      });
    }
    state.attach(host.logger);
    await node.connect(
      (channel, payload) => this.received(channel, payload),
      () => node.track(this.ownership.revalidate()),
    );
    const every = sweepEvery(host.limits.maxInterval);
    this.local.startSweeper(every, () => node.track(this.tick(every)));
    // Redis down at boot: the server starts anyway and answers 503 until Redis answers.
    if (!(await state.waitUp(node.timeout))) return state.unreachable();
    await this.tick(every).catch((err: unknown) => state.failed(err));
  }

  health(): EngineHealth {
    return this.state.report();
  }

  async close(): Promise<void> {
    this.local.close();
    const wasUp = this.state.up;
    this.state.close();
    await this.node.disconnect(wasUp);
  }

  createSession(init: SessionInit<User>): Promise<Session<User>> {
    return this.records.create(init);
  }

  session(clientId: string): Promise<Session<User> | undefined> {
    return this.records.find(clientId);
  }

  claim(session: Session<User>): Promise<Session<User>> {
    return this.ownership.claim(session);
  }

  owns(clientId: string): boolean {
    return this.local.get(clientId) !== undefined;
  }

  confirm(session: Session<User>, positions: ReadonlyMap<string, number>): Promise<void> {
    return savePositions(this.node.redis(), this.node.key('session', session.id), positions);
  }

  destroySession(clientId: string, reason: DisconnectReason): Promise<boolean> {
    return this.records.destroy(clientId, reason);
  }

  destroyUserSessions(userKey: string, reason: DisconnectReason): Promise<number> {
    return this.records.destroyUser(userKey, reason);
  }

  subscribe(session: Session<User>, channels: readonly string[], replay?: ReadonlyMap<string, ReplayFrom>): Promise<string[]> {
    return this.subscriptions.subscribe(session, channels, replay);
  }

  unsubscribe(session: Session<User>, channels: readonly string[]): Promise<string[]> {
    return this.subscriptions.change(session, channels, 'unsubscribe');
  }

  async publish(envelope: Envelope): Promise<void> {
    const { node } = this;
    const publisher = typeof envelope.message.clientId === 'string' ? envelope.message.clientId : '';
    if (envelope.template !== undefined && node.history !== undefined) {
      // The history script publishes the frame itself, the offset and message appended to this head.
      return node.history.publish(envelope, node.key('stream'), positionedHead(envelope.channel, publisher));
    }
    await node.publish({ kind: 'broadcast', channel: envelope.channel, publisher, json: envelope.json });
  }

  async push(clientId: string, envelope: Envelope): Promise<boolean> {
    const { node } = this;
    const mine = this.local.get(clientId);
    if (mine !== undefined) {
      this.local.deliver(mine, envelope.json);
      return true;
    }
    if ((await node.redis().exists(node.key('session', clientId))) === 0) return false;
    await node.publish({ kind: 'session-message', id: clientId, json: envelope.json });
    return true;
  }

  localCounts(): LocalCounts {
    return this.local.counts();
  }

  presence(channel: string, limit: number): Promise<PresenceEntry[]> {
    return this.records.presence.list(channel, limit);
  }

  countSessions(): Promise<number> {
    return this.node.redis().zcard(this.node.key('sessions'));
  }

  takeTokens(buckets: readonly RateBucket[], cost: number, now: number): Promise<RateTake> {
    return takeTokens(this.node.redis(), (...parts) => this.node.key(...parts), buckets, cost, now);
  }

  async sync(timeout = 5000): Promise<void> {
    const { node } = this;
    await node.echo(timeout);
    while (node.inflight.size > 0) await Promise.allSettled([...node.inflight]);
  }

  // ---- the stream, in order ----

  private received(channel: string, payload: string): void {
    try {
      if (channel === this.node.key('stream')) {
        const frame = decode(payload);
        if (frame === undefined) throw new Error(`malformed stream frame ${JSON.stringify(payload.slice(0, 80))}`);
        this.route(frame);
      } else {
        this.ownership.handedOver(payload);
      }
    } catch (err) {
      this.local.host.logger.error({ err, engine: 'redis' }, 'express-bayeux: Redis stream event failed');
    }
  }

  private route(frame: StreamFrame): void {
    switch (frame.kind) {
      case 'broadcast':
        if (frame.offset !== undefined) this.local.route(frame.channel, this.deliverKept, frame);
        else this.local.route(frame.channel, this.deliverTo, frame.json);
        this.local.host.broadcastArrived(envelopeOf(frame.channel, frame.json, frame.publisher));
        return;
      case 'session-message': {
        const session = this.local.get(frame.id);
        if (session !== undefined) this.local.deliver(session, frame.json);
        return;
      }
      case 'subscribe':
      case 'unsubscribe':
        this.ownership.changed(frame);
        return;
      case 'session-moved':
        this.ownership.moved(frame);
        return;
      case 'session-ended':
        this.ownership.ended(frame);
        return;
      case 'replay':
        this.ownership.replaying(frame.id, frame.channel);
        if (this.node.history !== undefined) this.node.track(this.node.history.replayed(frame));
        return;
      case 'echo':
        this.node.echoed(frame.node, frame.token);
        return;
    }
  }

  // ---- housekeeping ----

  /** Heartbeat, last-seen refresh of owned sessions, and (under the lock) expiry. */
  private async tick(every: number): Promise<void> {
    // A tick waiting on a frozen Redis is enough: do not pile up more.
    if (this.ticking) return;
    this.ticking = true;
    try {
      await this.housekeep(every);
      this.state.answered();
      const observer = this.local.host.observer;
      if (observer !== undefined) {
        // Pub/sub lag: how long a message of ours takes to come back through the stream.
        const start = performance.now();
        await this.node.echo(this.node.timeout);
        observer.streamLag((performance.now() - start) / 1000);
      }
    } finally {
      this.ticking = false;
    }
  }

  private async housekeep(every: number): Promise<void> {
    const { node, local } = this;
    const redis = node.redis();
    const now = Date.now();
    await redis.set(node.key('node', node.nodeId), '1', 'PX', every * 3 + 1000);
    if (local.size > 0) {
      const pairs: (string | number)[] = [];
      for (const session of local.sessions()) pairs.push(session.connections > 0 ? now : session.lastSeen, session.id);
      await redis.zadd(node.key('sessions'), 'XX', ...pairs);
    }
    if ((await redis.set(node.key('sweep'), node.nodeId, 'PX', every, 'NX')) !== 'OK') return;
    const expired = await redis.zrangebyscore(node.key('sessions'), '-inf', now - local.host.limits.maxInterval, 'LIMIT', 0, 500);
    for (const id of expired) {
      const mine = local.get(id);
      if ((mine !== undefined && mine.connections > 0) || this.ownership.isClaiming(id)) continue;
      await this.records.destroy(id, 'expired');
    }
    const { users } = this.records;
    for (const id of await users.expired(now)) {
      if (!(await this.records.destroy(id, 'credentials-expired'))) await users.remove(id, undefined);
    }
  }
}

/** The envelope of a routed broadcast; the message object is parsed only if a local subscriber asks. */
function envelopeOf(channel: string, json: string, publisher: string): Envelope {
  let message: Message | undefined;
  return {
    channel,
    json,
    get message(): Message {
      if (message === undefined) {
        message = JSON.parse(json) as Message;
        if (publisher !== '') message.clientId = publisher;
      }
      return message;
    },
  };
}

/**
 * A Redis engine: `bayeux({ engine: redisEngine({ url, namespace }) })`, or
 * `redisEngine({ sentinels: [{ host, port }], name: 'mymaster' })`.
 */
export function redisEngine(options: RedisEngineOptions = {}): RedisEngine {
  const health = new RedisHealth(1000);
  return new GuardedEngine<never>(new RedisEngineImpl<never>(options, health), health);
}
