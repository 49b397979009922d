/**
 * The Redis engine: many processes and machines act as one Bayeux server.
 *
 * Ownership: every session is delivered to by one node, its owner (the node
 * that created it, then whichever node last took its `/meta/connect`). Only
 * the owner holds its queue and indexes its subscriptions in memory.
 *
 * One ordered stream: every node subscribes to `<ns>:stream`. A publish is a
 * single PUBLISH on it, whatever the number of subscribers (faye-redis
 * copied every message into every recipient's list); each node routes it to
 * the sessions it owns through its local wildcard index. Moving a session is
 * a marker on the same stream: the old owner delivers everything before the
 * marker and hands its queue over, the new one everything after, so nothing
 * is lost or doubled in the move.
 *
 * Keys: `<ns>:session:<id>` (hash: user, userKey, ip, transport, data,
 * owner), `<ns>:sessions` (zset, score = last seen, refreshed by owners),
 * `<ns>:ips` (hash: sessions per IP), `<ns>:subs:<id>` (set), `<ns>:node:<id>`
 * (heartbeat with expiry), `<ns>:sweep` (expiry lock). Channels:
 * `<ns>:stream`, `<ns>:to:<node>` (queue hand-over replies). On a Redis
 * Cluster `<ns>` is written `{<ns>}`, so all of them share one slot, and the
 * channels are sharded (SSUBSCRIBE/SPUBLISH). Outages: see health.ts.
 *
 * Expiry: a sweeper on every node takes a short lock and ends sessions not
 * seen for `maxInterval` with one Lua script each, so the `disconnect` event
 * fires once in the cluster, also for sessions of a node that died.
 */
import { randomBytes } from 'node:crypto';
import { isWildcard } from '../../protocol/channel.js';
import { ChannelIndex } from '../../protocol/channel-index.js';
import type { Message } from '../../protocol/message.js';
import { AckState } from '../ack.js';
import { queueFor } from '../deliver.js';
import {
  type Engine,
  type EngineHealth,
  type EngineHost,
  EngineUnavailableError,
  type Envelope,
  type LocalCounts,
  type PresenceEntry,
  SessionLimitError,
} from '../engine.js';
import { keepsHistory, type ReplayFrom } from '../history/config.js';
import { type DisconnectReason, Session, type SessionInit } from '../session.js';
import type { RateBucket, RateTake } from '../token-bucket.js';
import { checkTopology, createClients, type RedisClient, type RedisTopology } from './connection.js';
import { GuardedEngine } from './guarded.js';
import { RedisHealth } from './health.js';
import { RedisHistory } from './history.js';
import { PresenceStore } from './presence.js';
import { takeTokens } from './rate-limit.js';
import { CLAIM, CREATE, DESTROY } from './scripts.js';
import { type BroadcastFrame, decode, encode, type StreamFrame, type SubscriptionChange } from './stream.js';
import { UserIndex } from './user-index.js';

/** Options of `redisEngine()`: where Redis is (`url`, or `sentinels` and `name`), and bounds. */
export interface RedisEngineOptions extends RedisTopology {
  /** Prefix of every key and channel, so several Bayeux servers can share a Redis. Default `bayeux`. */
  namespace?: string;
  /** Milliseconds to wait for the old owner's queue when a session moves. Default 1000. */
  handoverTimeout?: number;
  /**
   * Milliseconds a Redis command may take, and `open()` waits for the first
   * connection, before requests are answered 503 with retry advice. Default 2000.
   */
  commandTimeout?: number;
}

/** The Redis engine, with what tests and tools need beyond the `Engine` contract. */
export interface RedisEngine extends Engine {
  /** This node's id in the cluster. */
  readonly nodeId: string;
  /** Whether Redis can serve now (`server.health()` reports it). */
  health(): EngineHealth;
  /** Sessions, subscriptions and channels this node delivers to. */
  localCounts(): LocalCounts;
  /** Resolves once everything this node published before the call has been routed here too (rejects after `timeout` ms). */
  sync(timeout?: number): Promise<void>;
}

/** What the old owner of a moving session sends the new one. */
interface Handover {
  id: string;
  queue: string[];
  unacked: string[];
  batch: number;
  /** Set when no old owner answered (it died): its queue is lost, history re-sends what it can. */
  lost?: boolean;
}

function noHandover(id: string, lost = false): Handover {
  return lost ? { id, queue: [], unacked: [], batch: 0, lost } : { id, queue: [], unacked: [], batch: 0 };
}

interface Claiming {
  session: Session;
  channels: Set<string>;
  activated(): void;
}

const FIELDS = ['user', 'userKey', 'ip', 'transport', 'data', 'owner', 'ack', 'browser'] as const;

class RedisEngineImpl implements RedisEngine {
  readonly name = 'redis';
  readonly nodeId = randomBytes(9).toString('base64url');
  private host: EngineHost | undefined;
  private cmd: RedisClient | undefined;
  private sub: RedisClient | undefined;
  private readonly owned = new Map<string, Session>();
  private readonly claiming = new Map<string, Claiming>();
  private readonly handovers = new Map<string, (handover: Handover) => void>();
  private readonly syncs = new Map<string, () => void>();
  private readonly index = new ChannelIndex<Session>();
  private readonly inflight = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private readonly ns: string;
  /** Key prefix: on a Redis Cluster `{ns}`, a hash tag that puts every key and channel of the namespace in one slot. */
  private readonly prefix: string;
  /** On a Redis Cluster, sharded pub/sub: a message travels to one shard, not over the whole cluster bus. */
  private readonly sharded: boolean;
  private readonly timeout: number;
  private ticking = false;
  private readonly users = new UserIndex(
    () => this.redis(),
    (...parts) => this.key(...parts),
  );
  private readonly presenceStore = new PresenceStore(
    () => this.redis(),
    (...parts) => this.key(...parts),
  );
  private readonly deliverTo = (session: Session, json: string): void => this.deliver(session, json);
  /** Channel history (Streams), when the server keeps some. */
  private history: RedisHistory | undefined;
  private readonly deliverLive = (session: Session, event: BroadcastFrame): void => {
    if (!this.history?.keep(session.id, event.channel, event.json)) this.deliver(session, event.json);
  };

  constructor(
    private readonly options: RedisEngineOptions,
    private readonly state: RedisHealth,
  ) {
    this.ns = options.namespace ?? 'bayeux';
    if (!/^[\w.:-]+$/.test(this.ns)) throw new TypeError('redisEngine: option "namespace" must be letters, digits, _ . : -');
    this.timeout = options.commandTimeout ?? 2000;
    if (!(this.timeout > 0)) throw new TypeError('redisEngine: option "commandTimeout" must be a positive number of milliseconds');
    checkTopology(options);
    this.sharded = options.cluster !== undefined;
    this.prefix = this.sharded ? `{${this.ns}}` : this.ns;
  }

  /** Every key and channel name goes through here, so the cluster hash tag applies to all of them. */
  key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }

  /** Publishes on one of the namespace's channels (sharded on a cluster). */
  private send(channel: string, payload: string): Promise<unknown> {
    const redis = this.redis();
    return this.sharded ? redis.spublish(channel, payload) : redis.publish(channel, payload);
  }

  async open(host: EngineHost): Promise<void> {
    if (this.host !== undefined) throw new Error('redisEngine: an engine serves one server; create one per bayeux()');
    this.host = host;
    if (host.history !== undefined) {
      this.history = new RedisHistory(host.history, {
        logger: host.logger,
        redis: () => this.redis(),
        key: (...parts) => this.key(...parts),
        sharded: this.sharded,
        send: (channel, payload) => this.send(channel, payload),
        deliver: (session, json) => this.deliver(session, json),
        owned: (id) => this.owned.get(id),
        change: (session, channels, type) => this.changeSubscriptions(session, channels, type),
        attach: (session, channel) => this.applySubscriptions(session, [channel], 'subscribe'),
      });
    }
    const health = this.state;
    health.attach(host.logger);
    const { cmd, sub } = await createClients(this.options, this.timeout);
    this.cmd = cmd;
    this.sub = sub;
    let connectedOnce = false;
    let subscribed = false;
    for (const [name, client] of [
      ['commands', cmd],
      ['subscriber', sub],
    ] as const) {
      health.track(name);
      // ioredis reconnects on its own and reports every attempt: the health logs state changes only.
      client.on('error', (err: Error) => health.noted(name, err.message));
      client.on('close', () => health.lost(name));
    }
    cmd.on('ready', () => {
      if (connectedOnce) this.track(this.revalidate());
      connectedOnce = true;
      health.connected('commands');
    });
    // ioredis subscribes again by itself after a reconnection; the first subscription is ours.
    sub.on('ready', () => {
      if (subscribed) return health.connected('subscriber');
      this.track(
        (this.sharded
          ? sub.ssubscribe(this.key('stream'), this.key('to', this.nodeId))
          : sub.subscribe(this.key('stream'), this.key('to', this.nodeId))
        ).then(() => {
          subscribed = true;
          health.connected('subscriber');
        }),
      );
    });
    sub.on(this.sharded ? 'smessage' : 'message', (channel: string, payload: string) => this.received(channel, payload));
    cmd.connect().catch(() => undefined);
    sub.connect().catch(() => undefined);
    const every = Math.min(1000, Math.max(10, Math.floor(host.limits.maxInterval / 4)));
    this.timer = setInterval(() => this.track(this.tick(every)), every);
    this.timer.unref();
    // Redis down at boot: the server starts anyway and answers 503 until Redis answers.
    if (!(await health.waitUp(this.timeout))) return health.unreachable();
    await this.tick(every).catch((err: unknown) => health.failed(err));
  }

  health(): EngineHealth {
    return this.state.report();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const wasUp = this.state.up;
    this.state.close();
    // Bounded: every command has a timeout, and nothing in flight waits on Redis longer than that.
    await Promise.race([Promise.allSettled([...this.inflight]), delay(this.timeout)]);
    if (wasUp) await Promise.allSettled([this.cmd?.del(this.key('node', this.nodeId))]);
    this.sub?.disconnect();
    this.cmd?.disconnect();
  }

  async createSession(init: SessionInit): Promise<Session> {
    const { limits } = this.attached();
    const now = Date.now();
    const fields = [
      'user',
      JSON.stringify(init.user ?? null),
      'userKey',
      init.userKey ?? '',
      'ip',
      init.ip,
      'transport',
      init.transport,
      'data',
      JSON.stringify(init.data),
      'owner',
      this.nodeId,
      'ack',
      init.ack === true ? '1' : '0',
      'browser',
      init.browser ?? '',
    ];
    await this.users.add(init);
    const result = await this.redis().eval(
      CREATE,
      3,
      this.key('session', init.id),
      this.key('sessions'),
      this.key('ips'),
      init.id,
      now,
      limits.maxSessions,
      limits.maxSessionsPerIp,
      init.ip,
      ...fields,
    );
    if (result !== 'ok') await this.users.remove(init.id, init.userKey);
    if (result === 'max') throw new SessionLimitError(`the cluster holds ${limits.maxSessions} sessions, its limit`);
    if (result === 'ip') throw new SessionLimitError(`${init.ip} holds ${limits.maxSessionsPerIp} sessions, the limit per IP`);
    const session = new Session(init, now);
    this.owned.set(session.id, session);
    return session;
  }

  async session(clientId: string): Promise<Session | undefined> {
    const mine = this.owned.get(clientId);
    if (mine !== undefined) return mine;
    const values = await this.redis().hmget(this.key('session', clientId), ...FIELDS);
    return values[5] === null ? undefined : viewOf(clientId, values);
  }

  async claim(session: Session): Promise<Session> {
    const mine = this.owned.get(session.id);
    if (mine !== undefined) return mine;
    const redis = this.redis();
    const local = new Session(
      {
        id: session.id,
        user: session.user,
        userKey: session.userKey,
        ip: session.ip,
        transport: session.transport,
        data: session.data,
        ack: session.ack !== undefined,
        browser: session.browser,
      },
      Date.now(),
    );
    // When it was last seen, in case its node died: history re-sends what came after.
    const seen = this.history === undefined ? null : await redis.zscore(this.key('sessions'), session.id);
    // Seen now: the sweeper must not expire a session while it moves (the old owner may be dead).
    await redis.zadd(this.key('sessions'), 'XX', Date.now(), session.id);
    const channels = await redis.smembers(this.key('subs', session.id));
    const previous = (await redis.eval(CLAIM, 1, this.key('session', session.id), this.nodeId)) as string | null;
    if (previous === null) {
      local.alive = false;
      return local;
    }
    const oldAlive = previous !== this.nodeId && (await redis.exists(this.key('node', previous))) === 1;
    const handed = oldAlive ? this.awaitHandover(session.id) : Promise.resolve(noHandover(session.id, previous !== this.nodeId));
    if (previous !== this.nodeId && !oldAlive) this.host?.observer?.handover('owner-gone');
    const history = this.history;
    const config = this.host?.history;
    const resume =
      history !== undefined && seen !== null && previous !== this.nodeId
        ? channels.filter((c) => !isWildcard(c) && keepsHistory(config, c))
        : [];
    // Held from before the move, so live messages come after the handed-over or re-sent ones.
    if (resume.length > 0) history?.hold(session.id, resume);
    const activated = new Promise<void>((resolve) => {
      this.claiming.set(session.id, { session: local, channels: new Set(channels), activated: resolve });
    });
    // Counted as connected while the old owner hands over, so the sweeper leaves it alone.
    local.connections++;
    try {
      await this.send(this.key('stream'), encode({ kind: 'session-moved', id: session.id, owner: this.nodeId }));
      // Our own marker comes back on the stream unless the subscriber is cut off: bounded by the command timeout.
      if (!(await Promise.race([activated.then(() => true), delay(this.timeout).then(() => false)]))) {
        throw new EngineUnavailableError('redisEngine: the stream did not echo a session move in time');
      }
    } catch (err) {
      for (const channel of resume) history?.abort(local, channel, false);
      throw err;
    } finally {
      this.claiming.delete(session.id);
    }
    const { queue, unacked, batch, lost } = await handed.finally(() => {
      local.connections--;
      local.lastSeen = Date.now();
    });
    // Acknowledgement state goes on where the old node left it, so the client's next ack still matches.
    if (local.ack !== undefined) local.ack = new AckState(batch, unacked);
    if (queue.length > 0) {
      local.queue = [...queue, ...local.queue];
      this.attached().messagesQueued(local);
    }
    if (resume.length > 0 && history !== undefined) {
      // The dead node refreshed "last seen" every tick; re-send from two ticks and a second of clock skew before it,
      // and for the ack extension from a whole maxInterval before: a batch stays unacknowledged up to a connect later.
      const { maxInterval } = this.attached().limits;
      const tick = Math.min(1000, Math.max(10, Math.floor(maxInterval / 4)));
      const margin = 2 * tick + 1000 + (local.ack === undefined ? 0 : maxInterval);
      if (lost === true) await history.resume(local, resume, Number(seen) - margin);
      else for (const channel of resume) history.abort(local, channel, true);
    }
    return local;
  }

  async destroySession(clientId: string, reason: DisconnectReason): Promise<boolean> {
    // Read before the script deletes them: the presence entries to clean and the `leave` events to send.
    const channels = await this.redis().smembers(this.key('subs', clientId));
    const fields = (await this.redis().eval(
      DESTROY,
      4,
      this.key('session', clientId),
      this.key('sessions'),
      this.key('ips'),
      this.key('subs', clientId),
      clientId,
    )) as string[] | null;
    if (fields === null) return false;
    const record: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i] as string] = fields[i + 1] as string;
    const cleanup = this.redis().pipeline();
    this.users.forget(cleanup, clientId, record.userKey);
    this.presenceStore.forget(cleanup, clientId, channels);
    await cleanup.exec();
    const host = this.attached();
    const mine = this.owned.get(clientId);
    if (mine !== undefined) this.release(mine, reason);
    else await this.send(this.key('stream'), encode({ kind: 'session-ended', id: clientId, reason }));
    host.sessionEnded(
      mine ??
        viewOf(
          clientId,
          FIELDS.map((f) => record[f] ?? null),
        ),
      reason,
      channels,
    );
    return true;
  }

  async destroyUserSessions(userKey: string, reason: DisconnectReason): Promise<number> {
    const ids = await this.users.sessionsOf(userKey);
    const ended = await Promise.all(ids.map((id) => this.destroySession(id, reason)));
    // Members whose session had already ended are stale: drop them.
    const stale = ids.filter((_, i) => !ended[i]);
    if (stale.length > 0) await this.redis().srem(this.key('user', userKey), ...stale);
    return ended.length - stale.length;
  }

  async subscribe(session: Session, channels: readonly string[], replay?: ReadonlyMap<string, ReplayFrom>): Promise<string[]> {
    if (replay !== undefined && replay.size > 0 && this.history !== undefined && session.alive) {
      const added = await this.history.subscribe(session, channels, replay);
      // Replayed channels may be recorded without the subscription pipeline: make sure presence has them all.
      if (added.length > 0) {
        const pipeline = this.redis().pipeline();
        this.presenceStore.write(pipeline, session, added, 'subscribe');
        await pipeline.exec();
      }
      return added;
    }
    return this.changeSubscriptions(session, channels, 'subscribe');
  }

  async unsubscribe(session: Session, channels: readonly string[]): Promise<string[]> {
    return this.changeSubscriptions(session, channels, 'unsubscribe');
  }

  private async changeSubscriptions(session: Session, channels: readonly string[], change: SubscriptionChange): Promise<string[]> {
    if (!session.alive || channels.length === 0) return [];
    const key = this.key('subs', session.id);
    const pipeline = this.redis().pipeline();
    for (const channel of channels) {
      if (change === 'subscribe') pipeline.sadd(key, channel);
      else pipeline.srem(key, channel);
    }
    this.presenceStore.write(pipeline, session, channels, change);
    const results = (await pipeline.exec()) ?? [];
    const changed = channels.filter((_, i) => results[i]?.[1] === 1);
    if (changed.length === 0) return changed;
    const mine = this.owned.get(session.id);
    if (mine !== undefined) this.applySubscriptions(mine, changed, change);
    else await this.send(this.key('stream'), encode({ kind: change, id: session.id, channels: changed }));
    return changed;
  }

  async publish(envelope: Envelope): Promise<void> {
    const publisher = typeof envelope.message.clientId === 'string' ? envelope.message.clientId : '';
    if (envelope.template !== undefined && this.history !== undefined) {
      const head = encode({ kind: 'broadcast', channel: envelope.channel, publisher, json: '' });
      return this.history.publish(envelope, this.key('stream'), head);
    }
    await this.send(this.key('stream'), encode({ kind: 'broadcast', channel: envelope.channel, publisher, json: envelope.json }));
  }

  async push(clientId: string, envelope: Envelope): Promise<boolean> {
    const mine = this.owned.get(clientId);
    if (mine !== undefined) {
      this.deliver(mine, envelope.json);
      return true;
    }
    if ((await this.redis().exists(this.key('session', clientId))) === 0) return false;
    await this.send(this.key('stream'), encode({ kind: 'session-message', id: clientId, json: envelope.json }));
    return true;
  }

  localCounts(): LocalCounts {
    return { sessions: this.owned.size, subscriptions: this.index.count(), channels: this.index.size };
  }

  presence(channel: string, limit: number): Promise<PresenceEntry[]> {
    return this.presenceStore.list(channel, limit);
  }

  async countSessions(): Promise<number> {
    return this.redis().zcard(this.key('sessions'));
  }

  takeTokens(buckets: readonly RateBucket[], cost: number, now: number): Promise<RateTake> {
    return takeTokens(this.redis(), (...parts) => this.key(...parts), buckets, cost, now);
  }

  async sync(timeout = 5000): Promise<void> {
    await this.echo(timeout);
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** Publishes a marker to this node and resolves when the stream brings it back. */
  private async echo(timeout: number): Promise<void> {
    const token = randomBytes(6).toString('hex');
    let timer: NodeJS.Timeout | undefined;
    const seen = new Promise<void>((resolve, reject) => {
      this.syncs.set(token, resolve);
      // A marker published while the subscriber reconnects is never seen: fail rather than hang.
      timer = setTimeout(() => {
        this.syncs.delete(token);
        reject(new Error(`redisEngine: the stream did not echo within ${timeout} ms`));
      }, timeout);
    });
    try {
      await this.send(this.key('stream'), encode({ kind: 'echo', node: this.nodeId, token }));
      await seen;
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- the stream, in order ----

  private received(channel: string, payload: string): void {
    try {
      if (channel === this.key('stream')) {
        const frame = decode(payload);
        if (frame === undefined) throw new Error(`malformed stream frame ${JSON.stringify(payload.slice(0, 80))}`);
        this.route(frame);
      } else {
        const handover = JSON.parse(payload) as Handover;
        this.handovers.get(handover.id)?.(handover);
      }
    } catch (err) {
      this.host?.logger.error({ err, engine: 'redis' }, 'express-bayeux: Redis stream event failed');
    }
  }

  private route(event: StreamFrame): void {
    const host = this.attached();
    switch (event.kind) {
      case 'broadcast': {
        if (this.history?.holding) this.index.match(event.channel, this.deliverLive, event);
        else this.index.match(event.channel, this.deliverTo, event.json);
        host.broadcastArrived(envelopeOf(event.channel, event.json, event.publisher));
        return;
      }
      case 'session-message': {
        const session = this.owned.get(event.id);
        if (session !== undefined) this.deliver(session, event.json);
        return;
      }
      case 'subscribe':
      case 'unsubscribe': {
        const session = this.owned.get(event.id);
        if (session !== undefined) this.applySubscriptions(session, event.channels, event.kind);
        const claiming = this.claiming.get(event.id);
        if (claiming !== undefined) {
          for (const c of event.channels) {
            if (event.kind === 'subscribe') claiming.channels.add(c);
            else claiming.channels.delete(c);
          }
        }
        return;
      }
      case 'session-moved': {
        const session = this.owned.get(event.id);
        if (session !== undefined && event.owner !== this.nodeId) {
          this.release(session, undefined);
          const handover: Handover = {
            id: event.id,
            queue: session.take(),
            unacked: session.ack?.unacked ?? [],
            batch: session.ack?.batch ?? 0,
          };
          this.track(this.send(this.key('to', event.owner), JSON.stringify(handover)));
          host.sessionMovedAway(session);
        }
        const claiming = this.claiming.get(event.id);
        if (claiming !== undefined && event.owner === this.nodeId) {
          this.claiming.delete(event.id);
          this.owned.set(event.id, claiming.session);
          this.applySubscriptions(claiming.session, [...claiming.channels], 'subscribe');
          claiming.activated();
        }
        return;
      }
      case 'session-ended': {
        const session = this.owned.get(event.id);
        if (session !== undefined) this.release(session, event.reason as DisconnectReason);
        const claiming = this.claiming.get(event.id);
        if (claiming !== undefined) {
          this.claiming.delete(event.id);
          claiming.session.alive = false;
          claiming.activated();
        }
        return;
      }
      case 'replay': {
        this.claiming.get(event.id)?.channels.add(event.channel);
        if (this.history !== undefined) this.track(this.history.replayed(event));
        return;
      }
      case 'echo':
        if (event.node === this.nodeId) {
          this.syncs.get(event.token)?.();
          this.syncs.delete(event.token);
        }
        return;
    }
  }

  private applySubscriptions(session: Session, channels: readonly string[], change: SubscriptionChange): void {
    for (const channel of channels) {
      if (change === 'subscribe') {
        if (this.index.add(channel, session)) session.channels.add(channel);
      } else if (this.index.remove(channel, session)) {
        session.channels.delete(channel);
      }
    }
  }

  private deliver(session: Session, json: string): void {
    if (queueFor(this.attached(), session, json)) this.track(this.destroySession(session.id, 'overflow'));
  }

  /** Forgets a session on this node; with a reason it ended (its connection is dropped), without one it moved. */
  private release(session: Session, reason: DisconnectReason | undefined): void {
    if (this.owned.get(session.id) !== session) return;
    this.owned.delete(session.id);
    for (const channel of session.channels) this.index.remove(channel, session);
    session.channels.clear();
    if (reason === undefined) return;
    session.alive = false;
    session.queue = [];
    this.attached().sessionDropped(session, reason);
  }

  private awaitHandover(id: string): Promise<Handover> {
    const timeout = this.options.handoverTimeout ?? 1000;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.handovers.delete(id);
        this.host?.observer?.handover('timeout');
        resolve(noHandover(id, true));
      }, timeout);
      this.handovers.set(id, (handover) => {
        clearTimeout(timer);
        this.host?.observer?.handover('received');
        this.handovers.delete(id);
        resolve(handover);
      });
    });
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
      const observer = this.host?.observer;
      if (observer !== undefined) {
        // Pub/sub lag: how long a message of ours takes to come back through the stream.
        const start = performance.now();
        await this.echo(this.timeout);
        observer.streamLag((performance.now() - start) / 1000);
      }
    } finally {
      this.ticking = false;
    }
  }

  private async housekeep(every: number): Promise<void> {
    const host = this.attached();
    const redis = this.redis();
    const now = Date.now();
    await redis.set(this.key('node', this.nodeId), '1', 'PX', every * 3 + 1000);
    if (this.owned.size > 0) {
      const pairs: (string | number)[] = [];
      for (const session of this.owned.values()) pairs.push(session.connections > 0 ? now : session.lastSeen, session.id);
      await redis.zadd(this.key('sessions'), 'XX', ...pairs);
    }
    if ((await redis.set(this.key('sweep'), this.nodeId, 'PX', every, 'NX')) !== 'OK') return;
    const expired = await redis.zrangebyscore(this.key('sessions'), '-inf', now - host.limits.maxInterval, 'LIMIT', 0, 500);
    for (const id of expired) {
      const mine = this.owned.get(id);
      if ((mine !== undefined && mine.connections > 0) || this.claiming.has(id)) continue;
      await this.destroySession(id, 'expired');
    }
    for (const id of await this.users.expired(now)) {
      if (!(await this.destroySession(id, 'credentials-expired'))) await this.users.remove(id, undefined);
    }
  }

  /** After Redis came back: sessions it lost end, sessions another node took are released. */
  private async revalidate(): Promise<void> {
    const ids = [...this.owned.keys()];
    if (ids.length === 0) return;
    const pipeline = this.redis().pipeline();
    for (const id of ids) pipeline.hget(this.key('session', id), 'owner');
    const results = (await pipeline.exec()) ?? [];
    const host = this.attached();
    ids.forEach((id, i) => {
      const session = this.owned.get(id);
      if (session === undefined) return;
      const owner = results[i]?.[1];
      if (owner === null || owner === undefined) {
        this.release(session, 'server');
        host.sessionEnded(session, 'server');
      } else if (owner !== this.nodeId) {
        this.release(session, undefined);
        host.sessionMovedAway(session);
      }
    });
  }

  private track(promise: Promise<unknown>): void {
    const tracked = promise.catch((err: unknown) => {
      // An outage is logged once by the health, not by every task it fails.
      if (this.state.failed(err) instanceof EngineUnavailableError) return;
      this.host?.logger.error({ err, engine: 'redis' }, 'express-bayeux: Redis engine task failed');
    });
    this.inflight.add(tracked);
    void tracked.finally(() => this.inflight.delete(tracked));
  }

  private redis(): RedisClient {
    if (this.cmd === undefined) throw new Error('redisEngine: used before the server opened it');
    return this.cmd;
  }

  private attached(): EngineHost {
    if (this.host === undefined) throw new Error('redisEngine: used before the server opened it');
    return this.host;
  }
}

/** A session as stored in Redis (user, userKey, ip, transport, data, owner), as a non-owned view. */
function viewOf(id: string, values: (string | null)[]): Session {
  const [user, userKey, ip, transport, data, , ack, browser] = values;
  return new Session(
    {
      id,
      user: user ? ((JSON.parse(user) as unknown) ?? undefined) : undefined,
      userKey: userKey ? userKey : undefined,
      ip: ip ?? '',
      transport: transport ?? '',
      data: data ? (JSON.parse(data) as Record<string, unknown>) : {},
      ack: ack === '1',
      browser: browser ? browser : undefined,
    },
    Date.now(),
  );
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

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * A Redis engine: `bayeux({ engine: redisEngine({ url, namespace }) })`, or
 * `redisEngine({ sentinels: [{ host, port }], name: 'mymaster' })`.
 */
export function redisEngine(options: RedisEngineOptions = {}): RedisEngine {
  const health = new RedisHealth(1000);
  return new GuardedEngine(new RedisEngineImpl(options, health), health);
}
