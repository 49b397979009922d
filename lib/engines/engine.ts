/**
 * The engine owns sessions, subscriptions, queues and routing. The server core
 * talks to it only through this interface, so the in-memory engine and the
 * Redis engine are interchangeable; `test/engines/contract.ts` is the shared
 * suite every engine must pass.
 */
import type { Message } from '../protocol/message.js';
import type { HistoryConfig, ReplayFrom } from './history/config.js';
import type { PositionTemplate } from './history/position.js';
import type { Logger } from './logger.js';
import type { MaybePromise } from './maybe-promise.js';
import type { ClientInfo, DisconnectReason, Session, SessionInit } from './session.js';
import type { RateBucket, RateTake } from './token-bucket.js';

/** A broadcast or pushed message, serialized once for every recipient. */
export interface Envelope {
  /** Concrete channel the message was published to. */
  channel: string;
  /** The message as remote clients receive it (no publisher clientId). */
  json: string;
  /** The message as local subscribers receive it (with the publisher's clientId). */
  message: Message;
  /**
   * Set when the channel keeps history: the message with holes for its
   * position. The engine numbers the message and delivers the filled-in
   * template instead of `json`.
   */
  template?: PositionTemplate | undefined;
}

/** One subscriber of a channel, as `server.presence()` lists it. */
export interface PresenceEntry {
  clientId: string;
  /** The identity of the user bound at handshake (`identify()`), if any. */
  userKey: string | undefined;
  /** The session's `client.data` (what `messageACL` set at handshake). */
  data: Record<string, unknown>;
}

/** What this node holds, for metrics. */
export interface LocalCounts {
  /** Sessions delivered to by this node. */
  sessions: number;
  /** Their (pattern, session) subscription pairs. */
  subscriptions: number;
  /** Distinct patterns they subscribe to. */
  channels: number;
}

/** Receives what an engine measures of itself; set only while metrics are on. */
export interface EngineObserver {
  /** Seconds a message took through the engine's pub/sub and back (Redis). */
  streamLag(seconds: number): void;
  /** A session moved here: its old owner handed its queue over, did not in time, or was gone. */
  handover(outcome: 'received' | 'timeout' | 'owner-gone'): void;
}

/** Limits the engine enforces, resolved from the server options. */
export interface EngineLimits {
  /** Messages queued per session before `queuePolicy` applies. */
  maxQueue: number;
  /** What happens to a full queue. */
  queuePolicy: 'drop-oldest' | 'disconnect';
  /** Milliseconds a session survives with no connection. */
  maxInterval: number;
  /** Sessions in the whole server (all nodes). */
  maxSessions: number;
  /** Sessions per client IP. */
  maxSessionsPerIp: number;
}

/** The server core, as the engine sees it; `User` is the type of the users it binds to sessions. */
export interface EngineHost<User = unknown> {
  readonly limits: EngineLimits;
  readonly logger: Logger;
  /** Channel history (the `history` option); undefined when off. */
  readonly history?: HistoryConfig | undefined;
  /** Where to report measurements; undefined unless metrics are on. */
  readonly observer?: EngineObserver | undefined;
  /** A session this node delivers to went from an empty queue to a non-empty one: send it to a waiting connection. */
  messagesQueued(session: Session<User>): void;
  /** A session object of this node is gone: complete its held connection, release its socket. */
  sessionDropped(session: Session<User>, reason: DisconnectReason): void;
  /** Another node now delivers to this session: answer its held connect normally, release its socket. */
  sessionMovedAway(session: Session<User>): void;
  /**
   * A session ended; called once in the whole cluster, for the `disconnect`
   * event, with the channels it was subscribed to (for `leave` events).
   */
  sessionEnded(client: ClientInfo<User>, reason: DisconnectReason, channels?: readonly string[]): void;
  /** A broadcast reached this node (one of its sessions or local subscribers wants it): hand it to this node's local subscribers. */
  broadcastArrived(envelope: Envelope): void;
  /** The `drop-oldest` policy started dropping messages from a session's full queue. */
  messagesDropped(client: ClientInfo<User>, dropped: number): void;
}

/** Thrown by `createSession` when `maxSessions` or `maxSessionsPerIp` is reached. */
export class SessionLimitError extends Error {
  /** Stable machine-readable code. */
  readonly code = 'BAYEUX_SESSION_LIMIT';
}

/**
 * Thrown by engine calls while the engine cannot reach its store (Redis down,
 * frozen or failing over). The server answers the message with `503` and
 * advice to retry after `retryAfter` ms instead of waiting.
 */
export class EngineUnavailableError extends Error {
  /** Stable machine-readable code. */
  readonly code = 'BAYEUX_ENGINE_UNAVAILABLE';
  constructor(
    message: string,
    /** Milliseconds a client should wait before retrying. */
    readonly retryAfter = 1000,
  ) {
    super(message);
  }
}

/** What an engine reports to `server.health()`. */
export interface EngineHealth {
  /** `up`: serving; `starting`: not connected yet; `down`: requests get 503; `closed`: after `close()`. */
  status: 'starting' | 'up' | 'down' | 'closed';
  /** When the status last changed (ms since the epoch). */
  since: number;
  /** Why it is not up, e.g. the last connection error. */
  reason?: string;
}

/**
 * Storage and routing of sessions, subscriptions and queued messages. `User`
 * is the type of the users the server binds to sessions; an engine stores
 * them without looking inside, so engines are written for any `User`. Plain
 * `Engine` (`User = never`), what `memoryEngine()` and `redisEngine()`
 * return, fits a server of any user type.
 */
export interface Engine<User = never> {
  /** Short name for logs: `memory`, `redis`. */
  readonly name: string;
  /** Called once by the server before the first request. */
  open(host: EngineHost<User>): Promise<void>;
  /** Stops timers and connections. Sessions are not destroyed. */
  close(): Promise<void>;
  /** Creates a session; rejects with `SessionLimitError` past a limit. */
  createSession(init: SessionInit<User>): Promise<Session<User>>;
  /**
   * The session, for checking and handling a message on this node; undefined
   * when unknown or expired. It does not move delivery to this node. An
   * engine that knows at once (a session held on this node) returns it
   * directly: the poll it serves then takes no promise and waits for nothing.
   */
  session(clientId: string): MaybePromise<Session<User> | undefined>;
  /**
   * Makes this node the one that delivers to the session (a `/meta/connect`
   * arrived here) and returns the node-local object holding its queue, which
   * may differ from the one passed in; directly when this node delivers to
   * it already.
   */
  claim(session: Session<User>): MaybePromise<Session<User>>;
  /**
   * Keeps the history positions (channel to offset) a session's client
   * confirmed it received, for the node that takes the session over should
   * this one die: it resumes exactly after them. Engines whose sessions die
   * with their node need not implement it.
   */
  confirm?(session: Session<User>, positions: ReadonlyMap<string, number>): Promise<void>;
  /**
   * Whether this node delivers to the session now. Defined only by engines
   * whose sessions can move to another node (Redis): a draining node answers
   * the others' polls without taking them over.
   */
  owns?(clientId: string): boolean;
  /** Ends a session everywhere; false when it did not exist. */
  destroySession(clientId: string, reason: DisconnectReason): Promise<boolean>;
  /**
   * Ends, on every node, every session bound to the user identity `userKey`
   * (the `identify()` result kept at handshake); resolves with how many ended.
   */
  destroyUserSessions(userKey: string, reason: DisconnectReason): Promise<number>;
  /**
   * Adds subscription patterns; returns those that were new. With `replay`,
   * the kept messages of those channels from the given positions are queued
   * first, then live ones, with no gap and no duplicate; a position that
   * cannot be honoured rejects with `ReplayRefusedError` and subscribes nothing.
   */
  subscribe(session: Session<User>, channels: readonly string[], replay?: ReadonlyMap<string, ReplayFrom>): Promise<string[]>;
  /** Removes subscription patterns; returns those that were present. */
  unsubscribe(session: Session<User>, channels: readonly string[]): Promise<string[]>;
  /** Up to `limit` sessions subscribed to exactly `channel` (the pattern as subscribed), on every node. */
  presence(channel: string, limit: number): Promise<PresenceEntry[]>;
  /** Routes a broadcast to every matching subscriber (and to `host.broadcastArrived` on every node). */
  publish(envelope: Envelope): Promise<void>;
  /** Queues a message for one session; false when the session does not exist. */
  push(clientId: string, envelope: Envelope): Promise<boolean>;
  /** Number of live sessions (on all nodes). */
  countSessions(): Promise<number>;
  /** What this node holds, for metrics; engines without it report none. */
  localCounts?(): LocalCounts;
  /**
   * A local subscriber (`server.subscribe`) on this node now wants `pattern`
   * (`wanted` true: the first one) or no longer does (the last one left). An
   * engine that routes by interest (Redis) sends this node that pattern's
   * messages only while it is wanted here; others need not implement it.
   */
  watch?(pattern: string, wanted: boolean): void;
  /** Whether the engine can serve now; engines without it are always up. */
  health?(): EngineHealth;
  /**
   * Takes up to `cost` tokens from every bucket at once (rate limits; shared
   * by every node with a shared engine); `now` is the caller's clock in ms.
   */
  takeTokens(buckets: readonly RateBucket[], cost: number, now: number): Promise<RateTake>;
}
