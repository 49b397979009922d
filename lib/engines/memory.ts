/**
 * The default engine: everything in this process. Routing is synchronous; the
 * async interface only exists so that other engines can be swapped in.
 */
import type { Engine, EngineHost, Envelope, LocalCounts, PresenceEntry } from './engine.js';
import { SessionLimitError } from './engine.js';
import type { ReplayFrom } from './history/config.js';
import { type Kept, MemoryHistory } from './history/memory.js';
import { positioned } from './history/position.js';
import { LocalSessions, sweepEvery } from './local-sessions.js';
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

class MemoryEngine<User> implements Engine<User> {
  readonly name = 'memory';
  private readonly local = new LocalSessions<User>('memoryEngine', (session) => this.destroy(session, 'overflow'));
  private readonly sessionsPerIp = new Map<string, number>();
  /** Sessions by bound user identity, for `destroyUserSessions`. */
  private readonly byUser = new Map<string, Set<Session<User>>>();
  private readonly buckets = new TokenBuckets();
  private history: MemoryHistory | undefined;
  private readonly deliverTo = (session: Session<User>, envelope: Envelope): void => this.local.deliver(session, envelope.json);
  private readonly deliverKept = (session: Session<User>, kept: { json: string; channel: string; offset: number }): void =>
    this.local.deliverAt(session, kept.json, kept.channel, kept.offset);

  constructor(private readonly options: MemoryEngineOptions) {
    if (options.sweepInterval !== undefined && !(options.sweepInterval > 0)) {
      throw new TypeError('memoryEngine: option "sweepInterval" must be a positive number of milliseconds');
    }
  }

  async open(host: EngineHost<User>): Promise<void> {
    this.local.open(host);
    if (host.history !== undefined) this.history = new MemoryHistory(host.history);
    this.local.startSweeper(this.options.sweepInterval ?? sweepEvery(host.limits.maxInterval), () => this.sweep());
  }

  /** Sessions live in this process only: closing ends them all (reason `closed`). */
  async close(): Promise<void> {
    this.local.close();
    if (!this.local.isOpen) return;
    for (const session of [...this.local.sessions()]) this.destroy(session, 'closed');
  }

  async createSession(init: SessionInit<User>): Promise<Session<User>> {
    const { limits } = this.local.host;
    if (this.local.size >= limits.maxSessions) {
      throw new SessionLimitError(`the server holds ${limits.maxSessions} sessions, its limit`);
    }
    const fromIp = this.sessionsPerIp.get(init.ip) ?? 0;
    if (fromIp >= limits.maxSessionsPerIp) {
      throw new SessionLimitError(`${init.ip} holds ${limits.maxSessionsPerIp} sessions, the limit per IP`);
    }
    const session = new Session(init, Date.now());
    this.local.add(session);
    this.sessionsPerIp.set(init.ip, fromIp + 1);
    if (session.userKey !== undefined) {
      const mine = this.byUser.get(session.userKey);
      if (mine === undefined) this.byUser.set(session.userKey, new Set([session]));
      else mine.add(session);
    }
    return session;
  }

  session(clientId: string): Session<User> | undefined {
    return this.local.get(clientId);
  }

  claim(session: Session<User>): Session<User> {
    return session;
  }

  async destroySession(clientId: string, reason: DisconnectReason): Promise<boolean> {
    const session = this.local.get(clientId);
    if (session === undefined) return false;
    this.destroy(session, reason);
    return true;
  }

  async destroyUserSessions(userKey: string, reason: DisconnectReason): Promise<number> {
    const sessions = [...(this.byUser.get(userKey) ?? [])];
    for (const session of sessions) this.destroy(session, reason);
    return sessions.length;
  }

  async subscribe(session: Session<User>, channels: readonly string[], replay?: ReadonlyMap<string, ReplayFrom>): Promise<string[]> {
    if (!session.alive) return [];
    // Read before subscribing, all in one synchronous step: a refusal subscribes nothing, and no publish can fall in between.
    const replayed: [string, ReplayFrom, Kept[]][] = [];
    if (replay !== undefined && this.history !== undefined) {
      const now = Date.now();
      for (const [channel, from] of replay) replayed.push([channel, from, this.history.read(channel, from, now)]);
    }
    const added = this.local.change(session, channels, 'subscribe');
    for (const [channel, from, kept] of replayed) {
      if (from.kind !== 'new') this.local.rewind(session, channel, from.kind === 'all' ? -1 : from.offset);
      for (const entry of kept) this.local.deliverAt(session, entry.json, channel, entry.offset);
    }
    return added;
  }

  async unsubscribe(session: Session<User>, channels: readonly string[]): Promise<string[]> {
    return this.local.change(session, channels, 'unsubscribe');
  }

  async publish(envelope: Envelope): Promise<void> {
    const history = this.history;
    const config = this.local.host.history;
    if (envelope.template !== undefined && history !== undefined && config !== undefined) {
      const { position, json } = history.append(envelope.channel, envelope.template, Date.now());
      const kept = { channel: envelope.channel, json, message: positioned(envelope.message, position, config.salesforce) };
      this.local.route(kept.channel, this.deliverKept, { json, channel: kept.channel, offset: position.offset });
      this.local.host.broadcastArrived(kept);
      return;
    }
    this.local.route(envelope.channel, this.deliverTo, envelope);
    this.local.host.broadcastArrived(envelope);
  }

  async push(clientId: string, envelope: Envelope): Promise<boolean> {
    const session = this.local.get(clientId);
    if (session === undefined) return false;
    this.local.deliver(session, envelope.json);
    return true;
  }

  localCounts(): LocalCounts {
    return this.local.counts();
  }

  async presence(channel: string, limit: number): Promise<PresenceEntry[]> {
    const entries: PresenceEntry[] = [];
    for (const session of this.local.subscribersOf(channel)) {
      if (entries.length >= limit) break;
      entries.push({ clientId: session.id, userKey: session.userKey, data: session.data });
    }
    return entries;
  }

  async countSessions(): Promise<number> {
    return this.local.size;
  }

  async takeTokens(buckets: readonly RateBucket[], cost: number, now: number): Promise<RateTake> {
    return this.buckets.take(buckets, cost, now);
  }

  private destroy(session: Session<User>, reason: DisconnectReason): void {
    const channels = this.local.release(session, reason);
    if (channels === undefined) return;
    const fromIp = (this.sessionsPerIp.get(session.ip) ?? 1) - 1;
    if (fromIp === 0) this.sessionsPerIp.delete(session.ip);
    else this.sessionsPerIp.set(session.ip, fromIp);
    if (session.userKey !== undefined) {
      const mine = this.byUser.get(session.userKey);
      mine?.delete(session);
      if (mine?.size === 0) this.byUser.delete(session.userKey);
    }
    this.local.host.sessionEnded(session, reason, channels);
  }

  private sweep(): void {
    const { limits } = this.local.host;
    const now = Date.now();
    this.history?.sweep(now);
    this.buckets.sweep(now);
    const deadline = now - limits.maxInterval;
    for (const session of this.local.sessions()) {
      if (session.expiresAt !== undefined && session.expiresAt <= now) this.destroy(session, 'credentials-expired');
      else if (session.connections === 0 && session.lastSeen < deadline) this.destroy(session, 'expired');
    }
  }
}

/** The in-memory engine (the default): one process, no dependencies. */
export function memoryEngine(options: MemoryEngineOptions = {}): Engine {
  return new MemoryEngine(options);
}
