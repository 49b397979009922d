/**
 * Whether the Redis engine can serve: both connections ready and Redis
 * answering within the bound. Engine calls check it first, so during an
 * outage they fail at once with `EngineUnavailableError` instead of waiting;
 * every change of state is logged once (ioredis retries are not).
 */
import type { EngineHealth } from '../engine.js';
import { EngineUnavailableError } from '../engine.js';
import type { Logger } from '../logger.js';

type Status = EngineHealth['status'];

/** Errors that mean "Redis cannot be reached or cannot serve now", not "this command is wrong". */
const UNAVAILABLE =
  /Command timed out|Connection is closed|Stream isn't writeable|enableOfflineQueue|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|^READONLY|^LOADING|^MASTERDOWN|^CLUSTERDOWN|^TRYAGAIN|^BUSY |Failed to refresh slots|None of startup nodes|All sentinels are unreachable|is reset/;

function isUnavailable(err: unknown): boolean {
  return err instanceof EngineUnavailableError || (err instanceof Error && UNAVAILABLE.test(err.message));
}

export class RedisHealth {
  private status: Status = 'starting';
  private since = Date.now();
  private reason: string | undefined;
  /** Connections not ready, by name. */
  private readonly waiting = new Set<string>();
  /** Set when a command timed out on a connected Redis (paused, overloaded): cleared by the next answer. */
  private frozen: string | undefined;
  private readonly listeners: ((up: boolean) => void)[] = [];

  private logger: Logger | undefined;

  constructor(private readonly retryAfter: number) {}

  /** Where state changes are logged: the server's logger, known when the engine opens. */
  attach(logger: Logger): void {
    this.logger = logger;
  }

  /** A connection the engine needs; it counts as down until `connected`. */
  track(name: string): void {
    this.waiting.add(name);
  }

  connected(name: string): void {
    this.waiting.delete(name);
    this.update();
  }

  lost(name: string): void {
    this.reason = `${name} connection closed`;
    this.waiting.add(name);
    this.update();
  }

  /** Remembers why a connection failed, for the next state change's log line. */
  noted(name: string, reason: string): void {
    this.reason = `${name} connection: ${reason}`;
  }

  /** A command answered: Redis is not frozen. */
  answered(): void {
    if (this.frozen === undefined) return;
    this.frozen = undefined;
    this.update();
  }

  /** A command failed; an outage turns the state down and becomes an EngineUnavailableError. */
  failed(err: unknown): unknown {
    if (!isUnavailable(err)) return err;
    if (err instanceof EngineUnavailableError) return err;
    const message = (err as Error).message;
    if (/Command timed out/.test(message)) {
      this.frozen = message;
      this.reason = 'Redis did not answer in time';
    } else {
      this.reason = message;
    }
    this.update();
    return this.unavailable();
  }

  /** Throws unless the engine can serve now. */
  check(): void {
    if (this.status !== 'up') throw this.unavailable();
  }

  get up(): boolean {
    return this.status === 'up';
  }

  /** Calls `listener(up)` on every change between up and not up. */
  onChange(listener: (up: boolean) => void): void {
    this.listeners.push(listener);
  }

  close(): void {
    this.set('closed');
  }

  /** Resolves true once up, or false after `ms` (the first connection at boot is waited for this long). */
  waitUp(ms: number): Promise<boolean> {
    if (this.status === 'up') return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        done = true;
        resolve(false);
      }, ms);
      let done = false;
      this.listeners.push((up) => {
        if (done || !up) return;
        done = true;
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** The first connection did not come within the bound: say so once; connecting goes on. */
  unreachable(): void {
    if (this.status === 'starting') this.set('down');
  }

  report(): EngineHealth {
    return this.status === 'up' || this.reason === undefined
      ? { status: this.status, since: this.since }
      : { status: this.status, since: this.since, reason: this.reason };
  }

  private unavailable(): EngineUnavailableError {
    const why = this.status === 'closed' ? 'the engine is closed' : (this.reason ?? 'Redis is not connected yet');
    return new EngineUnavailableError(`redisEngine: Redis unavailable (${why})`, this.retryAfter);
  }

  private update(): void {
    if (this.status === 'closed') return;
    const up = this.waiting.size === 0 && this.frozen === undefined;
    if (up) this.set('up');
    else if (this.status === 'up') this.set('down');
  }

  private set(status: Status): void {
    if (status === this.status) return;
    const was = this.status;
    this.status = status;
    this.since = Date.now();
    if (status === 'up') {
      this.logger?.info(
        { engine: 'redis' },
        was === 'starting' ? 'express-bayeux: Redis connected' : 'express-bayeux: Redis is back; serving again',
      );
      this.reason = undefined;
    } else if (status === 'down') {
      this.logger?.warn(
        { engine: 'redis', reason: this.reason },
        `express-bayeux: Redis unavailable (${this.reason ?? 'disconnected'}); requests get 503 until it answers`,
      );
    }
    if (status === 'up' || was === 'up' || status === 'closed') for (const listener of this.listeners) listener(status === 'up');
  }
}
