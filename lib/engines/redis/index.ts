/**
 * The Redis engine: many processes and machines act as one Bayeux server.
 *
 * Ownership (ownership.ts): every session is delivered to by one node, its
 * owner. Only the owner holds its queue and indexes its subscriptions in
 * memory (`LocalSessions`, as the memory engine does for every session).
 *
 * Routing by interest (interest.ts): a node subscribes to `<ns>:c:<pattern>`
 * for each subscription pattern its sessions and local subscribers hold. A
 * publish is one script that PUBLISHes the message to the channel of every
 * pattern that can match it (`/a/b`: `/a/b`, `/a/*`, `/a/**`, `/**`), so Redis
 * sends it only to nodes that want it, once per wanted pattern, and each node
 * routes it to the sessions it owns through its local wildcard index. A node
 * with no interest in a channel receives none of its messages: adding nodes
 * adds capacity instead of adding readers of everything.
 *
 * Everything about one session (a push, a subscription made on another node,
 * its end, a move) goes to its owner's channel `<ns>:to:<node>`: no frame
 * goes to every node. Moving a session: ownership.ts.
 *
 * Keys: the sessions' (sessions.ts), `<ns>:node:<id>` (heartbeat with
 * expiry), `<ns>:sweep` (expiry lock). Channels: the pattern channels
 * (node.ts `channelKey`) and `<ns>:to:<node>` (frames: frames.ts). On a
 * Redis Cluster the namespace's own keys are written `{<ns>}` (one slot,
 * so limits stay atomic), while each pattern's channel, sequence and history
 * have their own slot, `{<ns>:<pattern>}`: a namespace's publishes spread
 * over the shards (SPUBLISH/SSUBSCRIBE), wildcards go through a registry
 * (wildcards.ts) and a move is cut by per-pattern numbers (ownership.ts).
 * Outages: see health.ts.
 *
 * Expiry: a sweeper on every node takes a short lock and ends sessions not
 * seen for `maxInterval` with one Lua script each, so the `disconnect` event
 * fires once in the cluster, also for sessions of a node that died. Last
 * seen is written by the owner only when it matters (`housekeep`), into one
 * sorted set on one Redis and into buckets spread over the slots on a
 * cluster (last-seen.ts).
 */

import { expand } from '../../protocol/channel.js';
import type { Message } from '../../protocol/message.js';
import type { EngineHealth, EngineHost, Envelope, LocalCounts, PresenceEntry } from '../engine.js';
import type { ReplayFrom } from '../history/config.js';
import { LocalSessions, sweepEvery } from '../local-sessions.js';
import type { MaybePromise } from '../maybe-promise.js';
import type { DisconnectReason, Session, SessionInit } from '../session.js';
import type { RateBucket, RateTake } from '../token-bucket.js';
import { type BroadcastFrame, decode, type Frame, positionedHead, SEQUENCED_TAG, sequenced } from './frames.js';
import { GuardedEngine } from './guarded.js';
import { RedisHealth } from './health.js';
import { RedisHistory } from './history.js';
import { RedisNode } from './node.js';
import { Overlaps } from './overlaps.js';
import { Ownership } from './ownership.js';
import { savePositions } from './positions.js';
import { takeTokens } from './rate-limit.js';
import { SessionRecords, STORED_LAG } from './sessions.js';
import { Subscriptions } from './subscriptions.js';
import type { RedisEngine, RedisEngineOptions, RedisEngineStats } from './types.js';

export type { RedisEngine, RedisEngineOptions, RedisEngineStats } from './types.js';

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
  /** Sessions whose last seen housekeeping wrote to Redis, since start (for tests and capacity planning). */
  private housekeepingWrites = 0;
  /** The id of the last broadcast routed: the copies of one broadcast (one per wanted pattern) come one after the other. */
  private lastBroadcast = '';
  /** On a Redis Cluster: the patterns the node's local subscribers (`server.subscribe`) watch, one holder of them all. */
  private readonly watcher = { id: '', channels: new Set<string>() };
  /** On a Redis Cluster: how the watcher takes one copy of each broadcast (overlaps.ts). */
  private readonly watching: Overlaps<{ id: string; channels: Set<string> }> | undefined;
  /** Broadcasts received from Redis (each once, whatever the number of copies), and extra copies dropped. */
  private readonly traffic = { broadcasts: 0, copies: 0, frames: 0 };
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
    this.ownership = new Ownership<User>(this.node, options.handoverTimeout ?? 1000);
    this.subscriptions = new Subscriptions<User>(this.node, this.records.presence, this.ownership);
    const { interest } = this.node;
    this.local.onPattern = (pattern, wanted) => (wanted ? interest.add(pattern) : interest.remove(pattern));
    this.ownership.routeCopy = (session, pattern, seq, frame) => this.deliverCopy(session, pattern, seq, frame);
    this.watching = this.node.sharded ? new Overlaps(this.node.timeout * 2, interest) : undefined;
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
        channelKey: (channel, what) => node.channelKey(channel, what),
        sharded: node.sharded,
        spread: (channel, payload) => node.spread(channel, payload, false),
        toOwner: (id, frame) => this.toOwner(id, frame),
        deliver: (session, kept, channel) => this.local.deliverAt(session, kept.json, channel, kept.offset),
        rewind: (session, channel, offset) => this.local.rewind(session, channel, offset),
        owned: (id) => this.local.get(id),
        change: (session, channels, change) => this.subscriptions.change(session, channels, change),
        attach: async (session, channel) => {
          const added = this.local.change(session, [channel], 'subscribe');
          node.overlaps?.joined(session, added);
          await node.interest.ready([channel], node.timeout);
        },
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

  session(clientId: string): MaybePromise<Session<User> | undefined> {
    return this.records.find(clientId);
  }

  claim(session: Session<User>): MaybePromise<Session<User>> {
    return this.node.local.get(session.id) ?? this.ownership.claim(session);
  }

  watch(pattern: string, wanted: boolean): void {
    const { interest } = this.node;
    const { watcher, watching } = this;
    if (wanted) {
      interest.add(pattern);
      watcher.channels.add(pattern);
      watching?.joined(watcher, [pattern]);
    } else {
      watching?.leaving(watcher, [pattern]);
      watcher.channels.delete(pattern);
      interest.remove(pattern);
    }
  }

  stats(): RedisEngineStats {
    return { ...this.traffic, patterns: this.node.interest.size, housekeepingWrites: this.housekeepingWrites };
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
    // A local subscriber added just before (`server.subscribe` is synchronous) gets what this node publishes next.
    if (node.interest.pending > 0) await node.interest.settled(node.timeout);
    const id = node.nextId();
    if (envelope.template !== undefined && node.history !== undefined) {
      // The history script publishes the frame itself, the offset and message appended to this head.
      const head = positionedHead(id, envelope.channel, publisher);
      return node.history.publish(envelope, node.patternPrefix, head);
    }
    await node.broadcast({ kind: 'broadcast', id, channel: envelope.channel, publisher, json: envelope.json });
  }

  async push(clientId: string, envelope: Envelope): Promise<boolean> {
    const mine = this.local.get(clientId);
    if (mine !== undefined) {
      this.local.deliver(mine, envelope.json);
      return true;
    }
    return this.toOwner(clientId, { kind: 'session-message', id: clientId, forwarded: false, json: envelope.json });
  }

  /** Sends a frame to the owner of a session; false when the session is gone. */
  private async toOwner(clientId: string, frame: Frame): Promise<boolean> {
    const { node } = this;
    const owner = await node.redis().hget(node.key('session', clientId), 'owner');
    if (owner === null) return false;
    await node.sendTo(owner, frame);
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
    await node.interest.settled(timeout);
    await (node.sharded ? node.echoEverywhere(timeout) : node.echo(timeout));
    while (node.inflight.size > 0) await Promise.allSettled([...node.inflight]);
  }

  // ---- what Redis sends this node ----

  private received(channel: string, payload: string): void {
    try {
      if (payload.charCodeAt(0) === SEQUENCED_TAG) {
        this.copy(channel, payload);
        return;
      }
      const frame = decode(payload);
      if (frame === undefined) throw new Error(`malformed frame ${JSON.stringify(payload.slice(0, 80))}`);
      if (frame.kind === 'broadcast') this.broadcast(frame);
      else {
        this.traffic.frames++;
        this.control(frame);
      }
    } catch (err) {
      this.local.host.logger.error({ err, engine: 'redis' }, 'express-bayeux: a Redis pub/sub message failed');
    }
  }

  private broadcast(frame: BroadcastFrame): void {
    // Another copy of the broadcast just routed (this node wants more than one pattern matching its channel).
    if (frame.id === this.lastBroadcast) {
      this.traffic.copies++;
      return;
    }
    this.lastBroadcast = frame.id;
    this.traffic.broadcasts++;
    if (frame.offset !== undefined) this.local.route(frame.channel, this.deliverKept, frame);
    else this.local.route(frame.channel, this.deliverTo, frame.json);
    this.local.host.broadcastArrived(envelopeOf(frame.channel, frame.json, frame.publisher));
  }

  /**
   * On a Redis Cluster: one numbered copy of a broadcast, on the channel of
   * `pattern` (its own channel, or a wildcard's). A node receives a copy for
   * each pattern it wants that matches the channel, from different shards in
   * no particular order. A session holding one of them takes it from that
   * one; a session holding several takes the first copy (overlaps.ts); the
   * node's local subscribers likewise, as one holder of the patterns they watch.
   */
  private copy(channel: string, payload: string): void {
    const pattern = this.node.patternOf(channel);
    const numbered = sequenced(payload);
    const frame = numbered === undefined ? undefined : decode(numbered.frame);
    if (pattern === undefined || numbered === undefined || frame?.kind !== 'broadcast') {
      throw new Error(`malformed numbered frame ${JSON.stringify(payload.slice(0, 80))} on ${channel}`);
    }
    const { seq } = numbered;
    this.node.sequences.seen(pattern, seq);
    const { interest } = this.node;
    const earlier = patternsBefore(frame.channel, pattern);
    if (earlier === undefined) return;
    for (const session of this.local.subscribersOf(pattern)) this.deliverCopy(session, pattern, seq, frame, earlier);
    for (const session of this.node.overlaps?.retiringOf(pattern) ?? []) this.deliverCopy(session, pattern, seq, frame, earlier);
    if (this.ownership.claimingAny) this.ownership.offer(pattern, seq, frame);
    const first = !earlier.some((q) => interest.receives(q));
    if (first) this.traffic.broadcasts++;
    else this.traffic.copies++;
    if (this.watched(frame.channel) ? this.takenLocally(pattern, frame) : first) {
      this.local.host.broadcastArrived(envelopeOf(frame.channel, frame.json, frame.publisher));
    }
  }

  /** True when a pattern the node's local subscribers watch (or one retiring) matches `channel`. */
  private watched(channel: string): boolean {
    const { watcher, watching } = this;
    if (watching === undefined || (watcher.channels.size === 0 && watching.size === 0)) return false;
    return expand(channel).some((q) => watching.takes(watcher, q));
  }

  /** The local subscribers take a copy that came on a pattern they watch, the first of a broadcast (overlaps.ts). */
  private takenLocally(pattern: string, frame: BroadcastFrame): boolean {
    const { watcher, watching } = this;
    return watching?.takes(watcher, pattern) === true && watching.admits(watcher, pattern, frame.channel, frame.id);
  }

  /** Delivers a copy that came on `pattern` to a session holding it, unless another node does or it took another copy. */
  private deliverCopy(
    session: Session<User>,
    pattern: string,
    seq: number,
    frame: BroadcastFrame,
    earlier = patternsBefore(frame.channel, pattern),
  ): void {
    if (earlier === undefined) return;
    if (this.ownership.cutting && !this.ownership.admits(session.id, pattern, seq)) return;
    if (this.node.overlaps?.admits(session, pattern, frame.channel, frame.id) === false) return;
    if (frame.offset !== undefined) this.deliverKept(session, frame);
    else this.local.deliver(session, frame.json);
  }

  private control(frame: Exclude<Frame, BroadcastFrame>): void {
    const { node, ownership } = this;
    switch (frame.kind) {
      case 'session-message':
        node.track(ownership.message(frame));
        return;
      case 'subscribe':
      case 'unsubscribe':
        node.track(ownership.changed(frame));
        return;
      case 'ack':
        node.acknowledged(frame.token);
        return;
      case 'handover':
        ownership.handedOver(frame.json);
        return;
      case 'session-moved':
        ownership.moved(frame);
        return;
      case 'session-ended':
        ownership.ended(frame);
        return;
      case 'replay':
        ownership.replaying(frame.id, frame.channel);
        if (node.history !== undefined) node.track(node.history.replayed(frame));
        return;
      case 'echo':
        node.echoed(frame.node, frame.token);
        return;
      case 'wildcard':
        node.wildcards?.announced(frame);
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
      this.node.overlaps?.sweep((id) => this.local.get(id));
      this.watching?.sweep(() => this.watcher);
      await this.housekeep(every);
      this.state.answered();
      const observer = this.local.host.observer;
      if (observer !== undefined) {
        // Pub/sub lag: how long a message of ours takes to come back through Redis.
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
      // Written only when it matters: a session without a connection when its last seen changed (exactly, so it
      // expires on time), a connected one every `STORED_LAG` of maxInterval (it cannot expire while connected: its
      // stored score is never older than that plus a tick), so a node of idle WebSocket clients writes little.
      const lag = local.host.limits.maxInterval * STORED_LAG;
      // By last-seen set (one on one Redis; on a cluster a few, each on its own slot: last-seen.ts).
      const writes = new Map<string, (string | number)[]>();
      let written = 0;
      for (const session of local.sessions()) {
        let seen: number;
        if (session.connections > 0) {
          if (now - session.storedSeen < lag) continue;
          seen = now;
        } else {
          if (session.lastSeen === session.storedSeen) continue;
          seen = session.lastSeen;
        }
        session.storedSeen = seen;
        const key = node.seenKey(session.id);
        const pairs = writes.get(key);
        if (pairs === undefined) writes.set(key, [seen, session.id]);
        else pairs.push(seen, session.id);
        written++;
      }
      this.housekeepingWrites += written;
      await Promise.all([...writes].map(([key, pairs]) => redis.zadd(key, 'XX', ...pairs)));
    }
    if ((await redis.set(node.key('sweep'), node.nodeId, 'PX', every, 'NX')) !== 'OK') return;
    // Wildcards wanted by nodes that died stop costing publishers a copy.
    for (const other of node.wildcards?.nodes() ?? []) {
      if (other !== node.nodeId && (await redis.exists(node.key('node', other))) === 0) await node.wildcards?.forgetNode(other);
    }
    for (const key of node.seenKeys()) {
      const expired = await redis.zrangebyscore(key, '-inf', now - local.host.limits.maxInterval, 'LIMIT', 0, 500);
      for (const id of expired) {
        const mine = local.get(id);
        if ((mine !== undefined && mine.connections > 0) || this.ownership.isClaiming(id)) continue;
        // On a cluster a last-seen entry can outlive its record (sessions.ts): nothing to end, drop it.
        if (!(await this.records.destroy(id, 'expired')) && node.sharded) await redis.zrem(key, id);
      }
    }
    const { users } = this.records;
    for (const id of await users.expired(now)) {
      if (!(await this.records.destroy(id, 'credentials-expired'))) await users.remove(id, undefined);
    }
  }
}

/**
 * The patterns before `pattern` in `expand(channel)` order (none for the
 * channel itself); undefined when `pattern` does not match the channel.
 */
function patternsBefore(channel: string, pattern: string): string[] | undefined {
  if (pattern === channel) return [];
  const patterns = expand(channel);
  const at = patterns.indexOf(pattern);
  return at < 0 ? undefined : patterns.slice(0, at);
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
