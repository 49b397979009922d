/**
 * A session as one node sees it: identity, subscriptions and the queue of
 * messages waiting for the client. Queued messages are already serialized;
 * the same string is shared by every recipient of a broadcast.
 */
import { AckState } from './ack.js';
import { DeliveredPositions } from './history/delivered.js';

/** What a handshake records about the client. */
export interface SessionInit<User = unknown> {
  /** The clientId: at least 128 random bits. */
  id: string;
  /** `req.user` at handshake (e.g. from Passport), bound to the session. */
  user: User | undefined;
  /** Stable identity of `user`, compared on every later request. */
  userKey: string | undefined;
  /** `req.ip` at handshake. */
  ip: string;
  /** Connection type used for the handshake. */
  transport: string;
  /** Values the ACL or extensions attached during the handshake. */
  data: Record<string, unknown>;
  /** The client asked for acknowledged delivery (ack extension) and the server allows it. */
  ack?: boolean;
  /** Browser id (BAYEUX_BROWSER cookie) a logged-in session is bound to, for polls that carry no user. */
  browser?: string | undefined;
  /** When (ms since the epoch) the credentials seen at handshake expire; the session ends then. */
  expiresAt?: number | undefined;
}

/** Why a session ended; carried by the `disconnect` event. */
export type DisconnectReason =
  /** The client sent `/meta/disconnect`. */
  | 'client'
  /** No connect within `maxInterval`. */
  | 'expired'
  /** Its queue passed `maxQueue` (or a socket stayed too slow) with the `disconnect` policy. */
  | 'overflow'
  /** The application ended it with `server.disconnect()` (or Redis lost it). */
  | 'server'
  /** The application signed its user out everywhere with `server.disconnectUser()`. */
  | 'revoked'
  /** The expiry `sessionExpiry` gave it at handshake passed. */
  | 'credentials-expired'
  /** `server.close()` ended it (memory engine: sessions do not outlive their process). */
  | 'closed';

/** Public, read-only view of a session handed to hooks and events. */
export interface ClientInfo<User = unknown> {
  readonly id: string;
  readonly user: User | undefined;
  readonly ip: string;
  readonly transport: string;
  /** Free-form values set during the handshake (e.g. by `messageACL`). */
  readonly data: Record<string, unknown>;
}

/** What `enqueue` did with a message. */
export type EnqueueResult = 'queued' | 'dropped-oldest' | 'overflow';

/** Node-local state of one session. */
export class Session<User = unknown> implements ClientInfo<User> {
  readonly id: string;
  readonly user: User | undefined;
  readonly userKey: string | undefined;
  readonly ip: string;
  readonly data: Record<string, unknown>;
  /** When (ms) the session was created on this node. */
  readonly createdAt: number;
  /** Browser id the session is bound to (see `SessionInit.browser`). */
  readonly browser: string | undefined;
  /** When (ms since the epoch) its credentials expire, if they do. */
  readonly expiresAt: number | undefined;
  /** Connection type of the latest request. */
  transport: string;
  /** Subscription patterns, as the client sent them. */
  readonly channels = new Set<string>();
  /** Serialized messages waiting for delivery, oldest first. */
  queue: string[] = [];
  /** Messages dropped by the `drop-oldest` policy since the last delivery (`take`): one slow-client episode. */
  dropped = 0;
  /** Acknowledged delivery state, when the ack extension is on for this session. */
  ack: AckState | undefined;
  /** Held connects and open sockets for this session on this node. */
  connections = 0;
  /** Last time (ms) a connection ended or a request arrived. */
  lastSeen: number;
  /** The "last seen" an engine that shares sessions last stored for it (Redis), so unchanged ones are not written again. */
  storedSeen = 0;
  /** False once destroyed: stale references must not queue or deliver. */
  alive = true;
  /** Positions on the history channels it receives; created with its first history message. */
  delivered: DeliveredPositions | undefined;

  constructor(init: SessionInit<User>, now: number) {
    this.id = init.id;
    this.user = init.user;
    this.userKey = init.userKey;
    this.ip = init.ip;
    this.transport = init.transport;
    this.data = init.data;
    this.createdAt = now;
    this.browser = init.browser;
    this.expiresAt = init.expiresAt;
    this.ack = init.ack === true ? new AckState() : undefined;
    this.lastSeen = now;
  }

  /**
   * Appends a serialized message. Past `maxQueue`, `drop-oldest` discards the
   * oldest and counts it; `disconnect` reports overflow and lets the caller
   * end the session.
   */
  enqueue(json: string, maxQueue: number, policy: 'drop-oldest' | 'disconnect'): EnqueueResult {
    if (this.queue.length < maxQueue) {
      this.queue.push(json);
      return 'queued';
    }
    if (policy === 'disconnect') return 'overflow';
    this.queue.shift();
    this.queue.push(json);
    this.dropped++;
    return 'dropped-oldest';
  }

  /** Removes and returns everything queued, for delivery: a later drop starts a new episode. */
  take(): string[] {
    const taken = this.queue;
    if (taken.length !== 0) this.queue = [];
    this.dropped = 0;
    this.delivered?.taken();
    return taken;
  }

  /** The session's history positions, created on first use. */
  positions(): DeliveredPositions {
    this.delivered ??= new DeliveredPositions();
    return this.delivered;
  }
}
