/**
 * The Redis engine as the server sees it: every call first checks that Redis
 * can serve (else it fails at once with `EngineUnavailableError`), and a call
 * that meets an outage turns it into the same error, so the server answers
 * 503 with retry advice instead of a 500 or a wait.
 */
import type { EngineHealth, EngineHost, Envelope, LocalCounts, PresenceEntry } from '../engine.js';
import type { ReplayFrom } from '../history/config.js';
import { isPromise, type MaybePromise } from '../maybe-promise.js';
import type { DisconnectReason, Session, SessionInit } from '../session.js';
import type { RateBucket, RateTake } from '../token-bucket.js';
import type { RedisHealth } from './health.js';
import type { RedisEngine, RedisEngineStats } from './types.js';

export class GuardedEngine<User> implements RedisEngine<User> {
  readonly name = 'redis';
  private readonly rethrow = (err: unknown): never => {
    throw this.state.failed(err);
  };

  constructor(
    private readonly inner: RedisEngine<User>,
    private readonly state: RedisHealth,
  ) {}

  get nodeId(): string {
    return this.inner.nodeId;
  }

  open(host: EngineHost<User>): Promise<void> {
    return this.inner.open(host);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  localCounts(): LocalCounts {
    return this.inner.localCounts();
  }

  watch(pattern: string, wanted: boolean): void {
    this.inner.watch(pattern, wanted);
  }

  stats(): RedisEngineStats {
    return this.inner.stats();
  }

  owns(clientId: string): boolean {
    return this.inner.owns(clientId);
  }

  health(): EngineHealth {
    return this.state.report();
  }

  sync(timeout?: number): Promise<void> {
    return this.guard(() => this.inner.sync(timeout));
  }

  createSession(init: SessionInit<User>): Promise<Session<User>> {
    return this.guard(() => this.inner.createSession(init));
  }

  session(clientId: string): MaybePromise<Session<User> | undefined> {
    this.state.check();
    return this.rethrown(this.inner.session(clientId));
  }

  claim(session: Session<User>): MaybePromise<Session<User>> {
    this.state.check();
    return this.rethrown(this.inner.claim(session));
  }

  confirm(session: Session<User>, positions: ReadonlyMap<string, number>): Promise<void> {
    return this.guard(() => this.inner.confirm(session, positions));
  }

  destroySession(clientId: string, reason: DisconnectReason): Promise<boolean> {
    return this.guard(() => this.inner.destroySession(clientId, reason));
  }

  destroyUserSessions(userKey: string, reason: DisconnectReason): Promise<number> {
    return this.guard(() => this.inner.destroyUserSessions(userKey, reason));
  }

  subscribe(session: Session<User>, channels: readonly string[], replay?: ReadonlyMap<string, ReplayFrom>): Promise<string[]> {
    return this.guard(() => this.inner.subscribe(session, channels, replay));
  }

  unsubscribe(session: Session<User>, channels: readonly string[]): Promise<string[]> {
    return this.guard(() => this.inner.unsubscribe(session, channels));
  }

  publish(envelope: Envelope): Promise<void> {
    return this.guard(() => this.inner.publish(envelope));
  }

  push(clientId: string, envelope: Envelope): Promise<boolean> {
    return this.guard(() => this.inner.push(clientId, envelope));
  }

  takeTokens(buckets: readonly RateBucket[], cost: number, now: number): Promise<RateTake> {
    return this.guard(() => this.inner.takeTokens(buckets, cost, now));
  }

  presence(channel: string, limit: number): Promise<PresenceEntry[]> {
    return this.guard(() => this.inner.presence(channel, limit));
  }

  countSessions(): Promise<number> {
    return this.guard(() => this.inner.countSessions());
  }

  /** Fails at once while Redis is known down; turns an outage met on the way into `EngineUnavailableError`. */
  private async guard<T>(call: () => Promise<T>): Promise<T> {
    this.state.check();
    return call().catch(this.rethrow);
  }

  /**
   * The rest of `guard`, for a call that answers at once when it needs no
   * Redis (a session held on this node; its caller checked first, so the
   * check throws rather than rejects): a value passes through without a promise.
   */
  private rethrown<T>(result: MaybePromise<T>): MaybePromise<T> {
    return isPromise(result) ? result.catch(this.rethrow) : result;
  }
}
