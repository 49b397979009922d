/**
 * The Redis engine as the server sees it: every call first checks that Redis
 * can serve (else it fails at once with `EngineUnavailableError`), and a call
 * that meets an outage turns it into the same error, so the server answers
 * 503 with retry advice instead of a 500 or a wait.
 */
import type { EngineHealth, EngineHost, Envelope } from '../engine.js';
import type { DisconnectReason, Session, SessionInit } from '../session.js';
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

  health(): EngineHealth {
    return this.state.report();
  }

  async sync(timeout?: number): Promise<void> {
    this.state.check();
    return this.inner.sync(timeout).catch(this.rethrow);
  }

  async createSession(init: SessionInit): Promise<Session> {
    this.state.check();
    return this.inner.createSession(init).catch(this.rethrow);
  }

  async session(clientId: string): Promise<Session | undefined> {
    this.state.check();
    return this.inner.session(clientId).catch(this.rethrow);
  }

  async claim(session: Session): Promise<Session> {
    this.state.check();
    return this.inner.claim(session).catch(this.rethrow);
  }

  async destroySession(clientId: string, reason: DisconnectReason): Promise<boolean> {
    this.state.check();
    return this.inner.destroySession(clientId, reason).catch(this.rethrow);
  }

  async subscribe(session: Session, channels: readonly string[]): Promise<string[]> {
    this.state.check();
    return this.inner.subscribe(session, channels).catch(this.rethrow);
  }

  async unsubscribe(session: Session, channels: readonly string[]): Promise<string[]> {
    this.state.check();
    return this.inner.unsubscribe(session, channels).catch(this.rethrow);
  }

  async publish(envelope: Envelope): Promise<void> {
    this.state.check();
    return this.inner.publish(envelope).catch(this.rethrow);
  }

  async push(clientId: string, envelope: Envelope): Promise<boolean> {
    this.state.check();
    return this.inner.push(clientId, envelope).catch(this.rethrow);
  }

  async countSessions(): Promise<number> {
    this.state.check();
    return this.inner.countSessions().catch(this.rethrow);
  }
}
