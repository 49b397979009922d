/**
 * The types of `bayeux()`'s options and of the contexts its hooks receive:
 * every type here is public (`lib/index.ts` exports them all).
 */
import type { IncomingMessage } from 'node:http';
import type { Engine } from '../../engines/engine.js';
import type { Logger } from '../../engines/logger.js';
import type { ClientInfo } from '../../engines/session.js';
import type { Message } from '../../protocol/message.js';

declare global {
  // Express's own augmentation points (passport adds `user`, express-session `session`, ...): merged, never replaced.
  namespace Express {
    interface User {}
    interface Request {}
  }
}

/** The request a hook sees: Node's, with what Express and its middleware add (`req.session`, `req.isAuthenticated()`). */
export type BayeuxRequest = IncomingMessage & Express.Request;

/** The transports a client can name in `connectionType`. */
export type ConnectionType = 'long-polling' | 'callback-polling' | 'websocket';

/** Where a message came from: the request it arrived in. */
export interface RequestContext<User = unknown> {
  /** Client address: Express's `req.ip` (honours `trust proxy`). */
  readonly ip: string;
  /**
   * The user: for a handshake, `req.user` of that request; afterwards, the
   * user bound to the session at handshake. Undefined for anonymous clients.
   */
  readonly user: User | undefined;
  /** The HTTP request (the upgrade request for WebSocket); undefined for local calls. */
  readonly req: BayeuxRequest | undefined;
  /** Transport of the request, or `local` for `server.publish()`. */
  readonly transport: ConnectionType | 'local';
  /** For WebSocket: what the `websocket.handshake` hook returned for this connection. */
  readonly upgrade?: Readonly<Record<string, unknown>> | undefined;
}

/** What a service handler, ACL and extension see about a message's sender. */
export interface MessageContext<User = unknown> extends RequestContext<User> {
  /** The sender's session; undefined for anonymous publishes and local calls. */
  readonly client: ClientInfo<User> | undefined;
}

/**
 * Decides whether a message may proceed. Return `false` to refuse with the
 * table's error, a string to refuse with that reason, anything else to allow.
 * For a handshake, `client` is the session about to be created: values put in
 * `client.data` are kept with it.
 */
export type MessageACL<User = unknown> = (
  client: ClientInfo<User> | undefined,
  message: Message,
  ctx: MessageContext<User>,
) => boolean | string | undefined | Promise<boolean | string | undefined>;

/**
 * When the credentials a handshake presents expire (e.g. a JWT's `exp * 1000`,
 * the login cookie's expiry): a `Date` or milliseconds since the epoch, or
 * undefined for never. The session ends at that time and the client is told to
 * handshake again; a handshake whose credentials already expired is refused.
 */
export type SessionExpiry<User = unknown> = (
  client: ClientInfo<User>,
  message: Message,
  ctx: RequestContext<User>,
) => Date | number | undefined | Promise<Date | number | undefined>;

/**
 * Handles messages on `/service/<name>`. The return value (or resolved value)
 * is the `data` of the reply, sent to the sender only with the request's `id`;
 * returning nothing sends a bare success. Throw a `BayeuxError` to fail with a
 * chosen error; any other throw is logged and answered `500`.
 */
export type ServiceHandler<User = unknown> = (message: Message, ctx: MessageContext<User>) => unknown;

/** Where an outgoing extension is looking. */
export type OutgoingKind = 'reply' | 'broadcast' | 'push';

/**
 * Hooks on every message in and out, as in CometD and Faye. `incoming` runs
 * before the ACL; set `message.error` to refuse the message. `outgoing` runs
 * on replies and, once before fan-out, on every broadcast or push: the
 * serialized result is shared by all recipients.
 */
export interface Extension<User = unknown> {
  incoming?(message: Message, ctx: MessageContext<User>): void | Promise<void>;
  outgoing?(message: Message, ctx: OutgoingContext<User>): void | Promise<void>;
}

/** Context of an outgoing extension call. */
export interface OutgoingContext<User = unknown> {
  readonly kind: OutgoingKind;
  /** The session a reply goes to; undefined for broadcasts, pushes and anonymous publishes. */
  readonly client: ClientInfo<User> | undefined;
  /** For pushes: the clientId the message goes to. */
  readonly to?: string;
  /** For replies: the context of the message being answered (undefined for held connect replies). */
  readonly request: MessageContext<User> | undefined;
}

/** A token bucket: `rate` messages per second on average, bursts of up to `burst`. */
export interface RateLimit {
  rate: number;
  /** Messages allowed at once (default: `rate` rounded up, at least 1). */
  burst?: number;
}

/**
 * Messages per second (every message but `/meta/connect`, whose pace the
 * server sets). `false` turns a limit off. With the Redis engine each bucket
 * is shared by every node.
 */
export interface RateLimitOptions {
  /** Per session. */
  session?: RateLimit | false;
  /** Per client IP (`req.ip`), all its sessions and handshakes together. */
  ip?: RateLimit | false;
}

/** Allowed cross-origin callers: an origin, a pattern, a list of them, or a predicate. */
export type OriginRule = string | RegExp | ReadonlyArray<string | RegExp> | ((origin: string) => boolean);

/** Cross-origin (CORS) access to the long-polling endpoint. */
export interface CorsOptions {
  /** Origins allowed to call the endpoint from a browser. */
  origin: OriginRule;
  /** Allow cookies (`Access-Control-Allow-Credentials`). Default `true`. */
  credentials?: boolean;
  /** Seconds browsers may cache a preflight. Default 600. */
  maxAge?: number;
}

/**
 * What the `websocket.handshake` hook decides about an upgrade request:
 * `false` refuses it (403), an object is kept as `ctx.upgrade` for every
 * message of the connection, anything else accepts it. Throw an http-errors
 * error (e.g. `createError(401, 'Login required')`) to refuse with its status.
 */
export type UpgradeVerdict = boolean | Record<string, unknown> | undefined;

/** The WebSocket transport (`server.attach(httpServer)`). */
export interface WebSocketOptions {
  /**
   * Path of the upgrade requests to take. Default: the path the Express app
   * mounts the server on (`app.use('/live', server)`), else `/cometd`.
   * Other paths are left to other handlers.
   */
  path?: string;
  /** Largest incoming frame in bytes (larger: close 1009). Default: `maxBodySize`. */
  maxPayload?: number;
  /** Milliseconds between pings; a socket that has not answered the previous one is terminated. 0 disables. */
  pingInterval?: number;
  /** Bytes a socket may have unsent before deliveries wait in the session queue. */
  maxBufferedBytes?: number;
  /** Origins allowed to open a socket that carries cookies; default: the request's own host and `cors.origin`. */
  origins?: OriginRule;
  /** Accepts, refuses or annotates an upgrade. */
  handshake?: (req: IncomingMessage) => UpgradeVerdict | Promise<UpgradeVerdict>;
  /** Subprotocols the server speaks; the first one the client offers is chosen. */
  protocols?: string[];
  /** Frames that are not Bayeux messages tolerated (each gets an error reply) before the socket is closed. */
  maxInvalidFrames?: number;
}

/** Channel history and replay on subscribe (see the README's History section). */
export interface HistoryOptions {
  /** Channel patterns (wildcards as in subscriptions) whose messages are kept. */
  channels: string[];
  /** Messages kept per channel at most. Default 1000; `1` keeps the last value only. */
  size?: number;
  /** Milliseconds a message is kept. Default 24 hours. */
  ttl?: number;
  /** Also put each message's offset in `data.event.replayId`, as Salesforce replay clients read it. Default false. */
  salesforce?: boolean;
}

/** Options of `bayeux()`. Every one is optional; defaults are in `DEFAULTS`. */
export interface BayeuxOptions<User = unknown> {
  /** Milliseconds a `/meta/connect` is held open waiting for messages. */
  timeout?: number;
  /** Milliseconds advised between a connect reply and the next connect. */
  interval?: number;
  /** Milliseconds a session lives without a connect before it expires. */
  maxInterval?: number;
  /** Held requests and open sockets per client IP (`req.ip`). */
  clientMaxConnections?: number;
  /** Largest request body in bytes. */
  maxBodySize?: number;
  /** Most messages in one request. */
  maxMessagesPerRequest?: number;
  /** Messages queued per client before `queuePolicy` applies. */
  maxQueue?: number;
  /** A full queue ends the session (`disconnect`) or drops its oldest message (`drop-oldest`). */
  queuePolicy?: 'disconnect' | 'drop-oldest';
  /** Sessions the server holds at most. */
  maxSessions?: number;
  /** Sessions one client IP holds at most. */
  maxSessionsPerIp?: number;
  /** Accept publishes from clients that did not handshake. */
  anonPublish?: boolean;
  /** Accept JSONP GETs (callback-polling). */
  callbackPolling?: boolean;
  /** Offer acknowledged delivery (CometD's ack extension) to clients that ask for it. */
  ack?: boolean;
  /** Handlers for `/service/<name>`; `_handler` catches the rest. */
  services?: Record<string, ServiceHandler<User>>;
  /** Authorisation of every incoming message. */
  messageACL?: MessageACL<User>;
  /** Messages per second per session and per IP; `false` turns both off. */
  rateLimit?: RateLimitOptions | false;
  /**
   * Handshakes this node admits per second (`burst` at once; default
   * `{ rate: 1000, burst: 2000 }`). Past it a handshake is refused with
   * `503::Too many handshakes, retry later` and jittered retry advice, so a
   * reconnect storm is spread out instead of overloading the node. `false`: no limit.
   */
  handshakeRate?: RateLimit | false;
  /** Gives a session an expiry at handshake, from its credentials; it ends then. */
  sessionExpiry?: SessionExpiry<User>;
  /** Incoming/outgoing message hooks, run in order. */
  extensions?: Extension<User>[];
  /** Session storage and routing; `memoryEngine()` by default. (`NoInfer`: the user type comes from the hooks, never from the engine.) */
  engine?: Engine<NoInfer<User>>;
  /**
   * A pino-compatible logger, or `false` for none. Default: warnings and
   * errors to the console, the session life cycle to `DEBUG=express-bayeux*`.
   */
  logger?: Logger | false;
  /** Milliseconds `server.close()` waits for sockets and the engine before it gives up on them. */
  closeTimeout?: number;
  /** Cross-origin access; off by default (same-origin only). */
  cors?: CorsOptions | false;
  /** Stable identity of a user, compared to bind sessions to users. Default: `id`, `_id`, `username` or `email`. */
  identify?: (user: User) => string | undefined;
  /** The WebSocket transport, active once `server.attach(httpServer)` is called. */
  websocket?: WebSocketOptions;
  /** Keep messages of some channels, with positions, for replay on subscribe; off by default. */
  history?: HistoryOptions | false;
}
