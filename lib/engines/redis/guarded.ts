/**
 * The Redis engine as the server sees it: every call first checks that Redis
 * can serve (else it fails at once with `EngineUnavailableError`), and a call
 * that meets an outage turns it into the same error, so the server answers
 * 503 with retry advice instead of a 500 or a wait. Arguments pass through
 * untouched, so the engine's signatures stay its own.
 */
import type { EngineHealth, EngineHost, LocalCounts, PresenceEntry } from '../engine.js';
import type { Session } from '../session.js';
import type { RateTake } from '../token-bucket.js';
import type { RedisHealth } from './health.js';
import type { RedisEngine } from './index.js';

export class GuardedEngine implements RedisEngine {
  readonly name = 'redis';
  private readonly rethrow = (err: unknown): never => {
    throw this.state.failed(err);
  };

  constructor(
    private readonly inner: RedisEngine,
    private readonly state: RedisHealth,
  ) {}

  get nodeId(): string {
    return this.inner.nodeId;
  }

  open(host: EngineHost): Promise<void> {
    return this.inner.open(host);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  localCounts(): LocalCounts {
    return this.inner.localCounts();
  }

  health(): EngineHealth {
    return this.state.report();
  }

  async sync(...args: Parameters<RedisEngine['sync']>): Promise<void> {
    this.state.check();
    return this.inner.sync(...args).catch(this.rethrow);
  }

  async createSession(...args: Parameters<RedisEngine['createSession']>): Promise<Session> {
    this.state.check();
    return this.inner.createSession(...args).catch(this.rethrow);
  }

  async session(...args: Parameters<RedisEngine['session']>): Promise<Session | undefined> {
    this.state.check();
    return this.inner.session(...args).catch(this.rethrow);
  }

  async claim(...args: Parameters<RedisEngine['claim']>): Promise<Session> {
    this.state.check();
    return this.inner.claim(...args).catch(this.rethrow);
  }

  async destroySession(...args: Parameters<RedisEngine['destroySession']>): Promise<boolean> {
    this.state.check();
    return this.inner.destroySession(...args).catch(this.rethrow);
  }

  async destroyUserSessions(...args: Parameters<RedisEngine['destroyUserSessions']>): Promise<number> {
    this.state.check();
    return this.inner.destroyUserSessions(...args).catch(this.rethrow);
  }

  async subscribe(...args: Parameters<RedisEngine['subscribe']>): Promise<string[]> {
    this.state.check();
    return this.inner.subscribe(...args).catch(this.rethrow);
  }

  async unsubscribe(...args: Parameters<RedisEngine['unsubscribe']>): Promise<string[]> {
    this.state.check();
    return this.inner.unsubscribe(...args).catch(this.rethrow);
  }

  async publish(...args: Parameters<RedisEngine['publish']>): Promise<void> {
    this.state.check();
    return this.inner.publish(...args).catch(this.rethrow);
  }

  async push(...args: Parameters<RedisEngine['push']>): Promise<boolean> {
    this.state.check();
    return this.inner.push(...args).catch(this.rethrow);
  }

  async takeTokens(...args: Parameters<RedisEngine['takeTokens']>): Promise<RateTake> {
    this.state.check();
    return this.inner.takeTokens(...args).catch(this.rethrow);
  }

  async presence(...args: Parameters<RedisEngine['presence']>): Promise<PresenceEntry[]> {
    this.state.check();
    return this.inner.presence(...args).catch(this.rethrow);
  }

  async countSessions(...args: Parameters<RedisEngine['countSessions']>): Promise<number> {
    this.state.check();
    return this.inner.countSessions(...args).catch(this.rethrow);
  }
}
