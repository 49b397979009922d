/**
 * The default engine: everything in this process. Routing is synchronous; the
 * async interface only exists so that other engines can be swapped in.
 */
import { ChannelIndex } from '../protocol/channel-index.js';
import { queueFor } from './deliver.js';
import type { Engine, EngineHost, Envelope, LocalCounts, PresenceEntry } from './engine.js';
import { SessionLimitError } from './engine.js';
import type { ReplayFrom } from './history/config.js';
import { MemoryHistory } from './history/memory.js';
import { positioned } from './history/position.js';
import type { DisconnectReason, SessionInit } from './session.js';
import { Session } from './session.js';
import { type RateBucket, type RateTake, TokenBuckets } from './token-bucket.js';

/** Options of the in-memory engine. */
export interface MemoryEngineOptions {
  /**
   * How often (ms) to look for expired sessions. Defaults to a quarter of
   * `maxInterval`, between 10 ms and 1 s.
   */
  sweepInterval?: number;
}

class MemoryEngine implements Engine {
  readonly name = 'memory';
  private host: EngineHost | undefined;
  private readonly sessions = new Map<string, Session>();
  private readonly sessionsPerIp = new Map<string, number>();
  /** Sessions by bound user identity, for `destroyUserSessions`. */
  private readonly byUser = new Map<string, Set<Session>>();
  private readonly buckets = new TokenBuckets();
  private readonly index = new ChannelIndex<Session>();
  private sweeper: NodeJS.Timeout | undefined;
  private history: MemoryHistory | undefined;
  private readonly deliverTo = (session: Session, envelope: Envelope): void => this.deliver(session, envelope.json);

  constructor(private readonly options: MemoryEngineOptions) {
    if (options.sweepInterval !== undefined && !(options.sweepInterval > 0)) {
      throw new TypeError('memoryEngine: option "sweepInterval" must be a positive number of milliseconds');
    }
  }

  async open(host: EngineHost): Promise<void> {
    if (this.host !== undefined) throw new Error('memoryEngine: an engine serves one server; create one per bayeux()');
    this.host = host;
    if (host.history !== undefined) this.history = new MemoryHistory(host.history);
    const every = this.options.sweepInterval ?? Math.min(1000, Math.max(10, host.limits.maxInterval / 4));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  /** Sessions live in this process only: closing ends them all (reason `closed`). */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    if (this.host === undefined) return;
    for (const session of [...this.sessions.values()]) this.destroy(session, 'closed');
  }

  async createSession(init: SessionInit): Promise<Session> {
    const { limits } = this.attached();
    if (this.sessions.size >= limits.maxSessions) {
      throw new SessionLimitError(`the server holds ${limits.maxSessions} sessions, its limit`);
    }
    const fromIp = this.sessionsPerIp.get(init.ip) ?? 0;
    if (fromIp >= limits.maxSessionsPerIp) {
      throw new SessionLimitError(`${init.ip} holds ${limits.maxSessionsPerIp} sessions, the limit per IP`);
    }
    const session = new Session(init, Date.now());
    this.sessions.set(session.id, session);
    this.sessionsPerIp.set(init.ip, fromIp + 1);
    if (session.userKey !== undefined) {
      const mine = this.byUser.get(session.userKey);
      if (mine === undefined) this.byUser.set(session.userKey, new Set([session]));
      else mine.add(session);
    }
    return session;
  }

  async session(clientId: string): Promise<Session | undefined> {
    return this.sessions.get(clientId);
  }

  async claim(session: Session): Promise<Session> {
    return session;
  }

  async destroySession(clientId: string, reason: DisconnectReason): Promise<boolean> {
    const session = this.sessions.get(clientId);
    if (session === undefined) return false;
    this.destroy(session, reason);
    return true;
  }

  async destroyUserSessions(userKey: string, reason: DisconnectReason): Promise<number> {
    const sessions = [...(this.byUser.get(userKey) ?? [])];
    for (const session of sessions) this.destroy(session, reason);
    return sessions.length;
  }

  async subscribe(session: Session, channels: readonly string[], replay?: ReadonlyMap<string, ReplayFrom>): Promise<string[]> {
    const added: string[] = [];
    if (!session.alive) return added;
    // Read before subscribing, all in one synchronous step: a refusal subscribes nothing, and no publish can fall in between.
    const replayed: string[] = [];
    if (replay !== undefined && this.history !== undefined) {
      const now = Date.now();
      for (const [channel, from] of replay) replayed.push(...this.history.read(channel, from, now));
    }
    for (const channel of channels) {
      if (this.index.add(channel, session)) {
        session.channels.add(channel);
        added.push(channel);
      }
    }
    for (const json of replayed) this.deliver(session, json);
    return added;
  }

  async unsubscribe(session: Session, channels: readonly string[]): Promise<string[]> {
    const removed: string[] = [];
    for (const channel of channels) {
      if (this.index.remove(channel, session)) {
        session.channels.delete(channel);
        removed.push(channel);
      }
    }
    return removed;
  }

  async publish(envelope: Envelope): Promise<void> {
    const history = this.history;
    const config = this.host?.history;
    if (envelope.template !== undefined && history !== undefined && config !== undefined) {
      const { position, json } = history.append(envelope.channel, envelope.template, Date.now());
      envelope = { channel: envelope.channel, json, message: positioned(envelope.message, position, config.salesforce) };
    }
    this.index.match(envelope.channel, this.deliverTo, envelope);
    this.attached().broadcastArrived(envelope);
  }

  async push(clientId: string, envelope: Envelope): Promise<boolean> {
    const session = this.sessions.get(clientId);
    if (session === undefined) return false;
    this.deliver(session, envelope.json);
    return true;
  }

  localCounts(): LocalCounts {
    return { sessions: this.sessions.size, subscriptions: this.index.count(), channels: this.index.size };
  }

  async presence(channel: string, limit: number): Promise<PresenceEntry[]> {
    const entries: PresenceEntry[] = [];
    for (const session of this.index.subscribers(channel) ?? []) {
      if (entries.length >= limit) break;
      entries.push({ clientId: session.id, userKey: session.userKey, data: session.data });
    }
    return entries;
  }

  async countSessions(): Promise<number> {
    return this.sessions.size;
  }

  async takeTokens(buckets: readonly RateBucket[], cost: number, now: number): Promise<RateTake> {
    return this.buckets.take(buckets, cost, now);
  }

  private deliver(session: Session, json: string): void {
    if (queueFor(this.attached(), session, json)) this.destroy(session, 'overflow');
  }

  private destroy(session: Session, reason: DisconnectReason): void {
    if (!session.alive) return;
    session.alive = false;
    this.sessions.delete(session.id);
    const fromIp = (this.sessionsPerIp.get(session.ip) ?? 1) - 1;
    if (fromIp === 0) this.sessionsPerIp.delete(session.ip);
    else this.sessionsPerIp.set(session.ip, fromIp);
    if (session.userKey !== undefined) {
      const mine = this.byUser.get(session.userKey);
      mine?.delete(session);
      if (mine?.size === 0) this.byUser.delete(session.userKey);
    }
    const channels = [...session.channels];
    for (const channel of channels) this.index.remove(channel, session);
    session.channels.clear();
    session.queue = [];
    const host = this.attached();
    host.sessionDropped(session, reason);
    host.sessionEnded(session, reason, channels);
  }

  private sweep(): void {
    const host = this.host;
    if (host === undefined) return;
    const now = Date.now();
    this.history?.sweep(now);
    this.buckets.sweep(now);
    const deadline = now - host.limits.maxInterval;
    for (const session of this.sessions.values()) {
      if (session.expiresAt !== undefined && session.expiresAt <= now) this.destroy(session, 'credentials-expired');
      else if (session.connections === 0 && session.lastSeen < deadline) this.destroy(session, 'expired');
    }
  }

  private attached(): EngineHost {
    if (this.host === undefined) throw new Error('memoryEngine: used before the server opened it');
    return this.host;
  }
}

/** The in-memory engine (the default): one process, no dependencies. */
export function memoryEngine(options: MemoryEngineOptions = {}): Engine {
  return new MemoryEngine(options);
}
