/** The Redis engine's public shape, apart from its parts so that each can name it. */
import type { Engine, EngineHealth, LocalCounts } from '../engine.js';
import type { Session } from '../session.js';
import type { RedisTopology } from './connection.js';

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

/** The Redis engine, with what tests and tools need beyond the `Engine` contract (`User`: as for `Engine`). */
export interface RedisEngine<User = never> extends Engine<User> {
  confirm(session: Session<User>, positions: ReadonlyMap<string, number>): Promise<void>;
  owns(clientId: string): boolean;
  /** This node's id in the cluster. */
  readonly nodeId: string;
  /** Whether Redis can serve now (`server.health()` reports it). */
  health(): EngineHealth;
  /** Sessions, subscriptions and channels this node delivers to. */
  localCounts(): LocalCounts;
  /** What Redis sent this node: for capacity planning and tests of routing by interest. */
  stats(): RedisEngineStats;
  /** A local subscriber wants a pattern (see `Engine.watch`). */
  watch(pattern: string, wanted: boolean): void;
  /**
   * Resolves once Redis confirmed every pattern this node wants now (its local
   * subscribers included) and everything this node sent to itself before the
   * call has come back (rejects after `timeout` ms).
   */
  sync(timeout?: number): Promise<void>;
}

/** Counts of what Redis sent one node since it started. */
export interface RedisEngineStats {
  /** Broadcasts received and routed (each once). */
  broadcasts: number;
  /** Extra copies of a broadcast received because this node wants several patterns matching its channel (dropped). */
  copies: number;
  /** Frames about sessions sent to this node's own channel (moves, pushes, subscription changes, markers). */
  frames: number;
  /** Last-seen scores of sessions housekeeping wrote to Redis (one per session and write). */
  housekeepingWrites: number;
  /** Subscription patterns this node subscribes to in Redis now. */
  patterns: number;
}
