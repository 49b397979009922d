/**
 * What this node wants from Redis: one pub/sub channel `<ns>:c:<pattern>` per
 * subscription pattern that one of its sessions, one of its local
 * subscribers, or a session it is taking over holds. Redis sends a node only
 * the messages of the channels it subscribed to, so a node with no interest
 * in a channel receives none of its messages.
 *
 * Each wanted pattern is counted (several holders may want it); the first
 * holder subscribes, the last one unsubscribes. Changes made in the same
 * turn of the event loop go out as one SUBSCRIBE (or UNSUBSCRIBE) of up to
 * `BATCH` channels. `ready()` resolves once Redis confirmed the subscription:
 * from then on every message published to the pattern reaches this node,
 * which is what a subscribe reply and a session move wait for.
 *
 * On a Redis Cluster each pattern's channel lives in its own slot, so each is
 * subscribed on its own (SSUBSCRIBE takes channels of one slot), and a
 * wildcard pattern is confirmed once every node knows this node wants it
 * (wildcards.ts), since publishers send it its copies.
 */
import { isWildcard } from '../../protocol/channel.js';
import { EngineUnavailableError } from '../engine.js';
import type { RedisClient } from './connection.js';
import type { Sequences } from './sequences.js';

/** Tells every node that this one wants a wildcard pattern, or no longer (wildcards.ts). */
interface Announcer {
  announce(pattern: string, wanted: boolean): Promise<void>;
}

/** Channels per SUBSCRIBE / UNSUBSCRIBE command. */
const BATCH = 512;

interface Wanted {
  holders: number;
  /** True once Redis confirmed the subscription on the current connection. */
  confirmed: boolean;
  /** Callers of `ready()` waiting for the confirmation. */
  waiters: (() => void)[];
}

export class Interest {
  private readonly wanted = new Map<string, Wanted>();
  private toSubscribe = new Set<string>();
  private toUnsubscribe = new Set<string>();
  private scheduled = false;
  /** Entries of `wanted` whose `confirmed` is false. */
  private unconfirmed = 0;
  /** The subscriber connection while it is ready; changes made without one wait for `resubscribe`. */
  private sub: RedisClient | undefined;
  /** On a cluster: unsubscribes (and wildcards' announcements that they are given up) still on their way. */
  private readonly releasing = new Set<Promise<void>>();

  constructor(
    /** The pub/sub channel of a subscription pattern. */
    readonly channelOf: (pattern: string) => string,
    /** On a Redis Cluster: the registry of wanted wildcards, and the numbers seen per pattern. */
    private readonly cluster: { wildcards: Announcer; sequences: Sequences } | undefined,
    /** A command that failed (e.g. the connection dropped): reported to the engine's health. */
    private readonly failed: (err: unknown) => void,
  ) {}

  /** True when this node wants `pattern` and Redis confirmed it: its messages reach this node. */
  receives(pattern: string): boolean {
    return this.wanted.get(pattern)?.confirmed === true;
  }

  /** The patterns whose messages reach this node now. */
  receiving(): string[] {
    const patterns: string[] = [];
    for (const [pattern, entry] of this.wanted) if (entry.confirmed) patterns.push(pattern);
    return patterns;
  }

  /** Patterns wanted now (for metrics and tests). */
  get size(): number {
    return this.wanted.size;
  }

  has(pattern: string): boolean {
    return this.wanted.has(pattern);
  }

  /** Patterns wanted and not confirmed yet (a publish from this node waits for them: see `settled`). */
  get pending(): number {
    return this.unconfirmed;
  }

  /**
   * Resolves once every pattern wanted now is confirmed (see `ready`) and, on a
   * cluster, every wildcard given up was announced as such (each announcement is
   * Redis commands bounded by the command timeout; a failure goes to `failed`).
   */
  async settled(timeout: number): Promise<void> {
    await this.ready(this.wanted.keys(), timeout);
    await Promise.all(this.releasing);
  }

  /** One more holder wants `pattern`. */
  add(pattern: string): void {
    const entry = this.wanted.get(pattern);
    if (entry !== undefined) {
      entry.holders++;
      return;
    }
    this.wanted.set(pattern, { holders: 1, confirmed: false, waiters: [] });
    this.unconfirmed++;
    // Wanted again before its unsubscribe went out: subscribing again is harmless and confirms it.
    this.toUnsubscribe.delete(pattern);
    this.toSubscribe.add(pattern);
    this.schedule();
  }

  /** One holder of `pattern` is gone; the last one unsubscribes. */
  remove(pattern: string): void {
    const entry = this.wanted.get(pattern);
    if (entry === undefined || --entry.holders > 0) return;
    this.wanted.delete(pattern);
    this.cluster?.sequences.forget(pattern);
    if (!entry.confirmed) this.unconfirmed--;
    for (const waiter of entry.waiters) waiter();
    if (!this.toSubscribe.delete(pattern)) this.toUnsubscribe.add(pattern);
    this.schedule();
  }

  /**
   * Resolves once Redis confirmed every one of `patterns` still wanted; rejects
   * with `EngineUnavailableError` after `timeout` ms (the subscriber is cut off).
   */
  ready(patterns: Iterable<string>, timeout: number): Promise<void> {
    let missing = 0;
    let done: () => void = noop;
    const settled = new Promise<void>((resolve) => {
      done = () => {
        if (--missing === 0) resolve();
      };
    });
    for (const pattern of patterns) {
      const entry = this.wanted.get(pattern);
      if (entry === undefined || entry.confirmed) continue;
      missing++;
      entry.waiters.push(() => done());
    }
    if (missing === 0) return Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new EngineUnavailableError(`redisEngine: Redis did not confirm a subscription within ${timeout} ms`)),
        timeout,
      );
    });
    return Promise.race([settled, late]).finally(() => clearTimeout(timer));
  }

  /** The subscriber connection is (again) ready: subscribes to everything wanted; resolves once confirmed. */
  async resubscribe(sub: RedisClient): Promise<void> {
    this.sub = sub;
    this.toUnsubscribe.clear();
    for (const pattern of this.wanted.keys()) this.toSubscribe.add(pattern);
    await this.flush();
  }

  /** The subscriber connection dropped: nothing is confirmed until `resubscribe`. */
  lost(): void {
    this.sub = undefined;
    for (const entry of this.wanted.values()) entry.confirmed = false;
    this.unconfirmed = this.wanted.size;
  }

  private schedule(): void {
    if (this.scheduled || this.sub === undefined) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const sub = this.sub;
    if (sub === undefined) return;
    const subscribe = [...this.toSubscribe];
    const unsubscribe = [...this.toUnsubscribe];
    this.toSubscribe.clear();
    this.toUnsubscribe.clear();
    if (this.cluster !== undefined) return this.flushSharded(sub, this.cluster.wildcards, subscribe, unsubscribe);
    const work: Promise<void>[] = [];
    for (let i = 0; i < unsubscribe.length; i += BATCH) {
      const channels = unsubscribe.slice(i, i + BATCH).map(this.channelOf);
      work.push(sub.unsubscribe(...channels).then(noop, this.failed));
    }
    for (let i = 0; i < subscribe.length; i += BATCH) {
      const patterns = subscribe.slice(i, i + BATCH);
      work.push(sub.subscribe(...patterns.map(this.channelOf)).then(() => this.confirm(sub, patterns), this.failed));
    }
    await Promise.all(work);
  }

  /** One command per channel (each in its own slot); a wildcard is announced once subscribed, and then confirmed. */
  private async flushSharded(sub: RedisClient, wildcards: Announcer, subscribe: string[], unsubscribe: string[]): Promise<void> {
    const work: Promise<void>[] = [];
    for (const pattern of unsubscribe) {
      const sent = sub.sunsubscribe(this.channelOf(pattern));
      const done = (isWildcard(pattern) ? sent.then(() => wildcards.announce(pattern, false)) : sent).then(noop, this.failed);
      this.releasing.add(done);
      void done.finally(() => this.releasing.delete(done));
      work.push(done);
    }
    for (const pattern of subscribe) {
      const sent = sub.ssubscribe(this.channelOf(pattern));
      const known = isWildcard(pattern) ? sent.then(() => wildcards.announce(pattern, true)) : sent;
      work.push(known.then(() => this.confirm(sub, [pattern]), this.failed));
    }
    await Promise.all(work);
  }

  private confirm(sub: RedisClient, patterns: readonly string[]): void {
    // Confirmed on a connection that has since dropped: `resubscribe` will confirm again.
    if (this.sub !== sub) return;
    for (const pattern of patterns) {
      const entry = this.wanted.get(pattern);
      if (entry === undefined || entry.confirmed) continue;
      entry.confirmed = true;
      this.unconfirmed--;
      const waiters = entry.waiters;
      entry.waiters = [];
      for (const waiter of waiters) waiter();
    }
  }
}

function noop(): void {}
