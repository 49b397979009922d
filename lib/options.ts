/**
 * Every option of `bayeux()`, its default, and the one place they are checked.
 * Nothing else reads raw options: the server works from `ResolvedOptions`.
 */
import type { IncomingMessage } from 'node:http';
import createDebug from 'debug';
import { closest, distance } from 'fastest-levenshtein';
import type { Engine } from './engines/engine.js';
import type { HistoryConfig } from './engines/history/config.js';
import type { Logger } from './engines/logger.js';
import { memoryEngine } from './engines/memory.js';
import type { ClientInfo } from './engines/session.js';
import { isMeta, isService, isValidChannel } from './protocol/channel.js';
import type { Message } from './protocol/message.js';

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
  burst: number;
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
  /** Gives a session an expiry at handshake, from its credentials; it ends then. */
  sessionExpiry?: SessionExpiry<User>;
  /** Incoming/outgoing message hooks, run in order. */
  extensions?: Extension<User>[];
  /** Session storage and routing; `memoryEngine()` by default. */
  engine?: Engine;
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

/** WebSocket options after defaults and checks. */
export interface ResolvedWebSocketOptions {
  path: string;
  /** True when `websocket.path` was given: it then overrides the path the app mounts the server on. */
  pathSet: boolean;
  maxPayload: number;
  pingInterval: number;
  maxBufferedBytes: number;
  origins: OriginRule | undefined;
  handshake: ((req: IncomingMessage) => UpgradeVerdict | Promise<UpgradeVerdict>) | undefined;
  protocols: readonly string[];
  maxInvalidFrames: number;
}

/** Options after defaults and checks. */
export interface ResolvedOptions<User = unknown> {
  timeout: number;
  interval: number;
  maxInterval: number;
  clientMaxConnections: number;
  maxBodySize: number;
  maxMessagesPerRequest: number;
  maxQueue: number;
  queuePolicy: 'disconnect' | 'drop-oldest';
  maxSessions: number;
  maxSessionsPerIp: number;
  anonPublish: boolean;
  callbackPolling: boolean;
  ack: boolean;
  services: ReadonlyMap<string, ServiceHandler<User>>;
  messageACL: MessageACL<User> | undefined;
  sessionExpiry: SessionExpiry<User> | undefined;
  rateLimit: { session: RateLimit | undefined; ip: RateLimit | undefined };
  extensions: readonly Extension<User>[];
  engine: Engine;
  logger: Logger;
  closeTimeout: number;
  cors: Required<CorsOptions> | undefined;
  identify: (user: User) => string | undefined;
  websocket: ResolvedWebSocketOptions;
  history: HistoryConfig | undefined;
}

/** Defaults of every plain option. */
export const DEFAULTS = {
  timeout: 30_000,
  interval: 0,
  maxInterval: 30_000,
  clientMaxConnections: 100,
  maxBodySize: 1024 * 1024,
  maxMessagesPerRequest: 256,
  maxQueue: 1000,
  queuePolicy: 'disconnect',
  maxSessions: 100_000,
  maxSessionsPerIp: 1000,
  anonPublish: false,
  callbackPolling: true,
  ack: false,
  closeTimeout: 5000,
} as const satisfies Partial<BayeuxOptions>;

/** Default rate limits: far above what a normal client sends, low enough to stop a flood. */
export const RATE_LIMIT_DEFAULTS = {
  session: { rate: 200, burst: 1000 },
  ip: { rate: 5000, burst: 20_000 },
} as const satisfies Required<RateLimitOptions>;

/** Defaults of the `websocket` options (`maxPayload` defaults to `maxBodySize`). */
export const WEBSOCKET_DEFAULTS = {
  path: '/cometd',
  pingInterval: 25_000,
  maxBufferedBytes: 1024 * 1024,
  protocols: [] as readonly string[],
  maxInvalidFrames: 10,
} as const;

/** Defaults of the `history` options. */
export const HISTORY_DEFAULTS = {
  size: 1000,
  ttl: 24 * 60 * 60 * 1000,
  salesforce: false,
} as const;

const SILENT: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Messages name the package themselves (`express-bayeux: ...`, as pino users see them); the console prints it once. */
const PREFIX = /^express-bayeux:\s*/;

/**
 * The logger when none is given: warnings and errors on the console, debug
 * and info through the `debug` package (`DEBUG=express-bayeux*`), as Express does.
 */
function defaultLogger(): Logger {
  const trace = createDebug('express-bayeux');
  const line = (obj: object | string, msg?: string) => (typeof obj === 'string' ? obj : (msg ?? '')).replace(PREFIX, '');
  const write = (level: string) => (obj: object | string, msg?: string) => {
    if (typeof obj === 'string') console.error(`express-bayeux ${level}: ${line(obj)}`);
    else console.error(`express-bayeux ${level}: ${line(obj, msg)}`, obj);
  };
  const debug = (obj: object | string, msg?: string) => {
    if (!trace.enabled) return;
    if (typeof obj === 'string') trace(line(obj));
    else trace('%s %o', line(obj, msg), obj);
  };
  return { debug, info: debug, warn: write('warn'), error: write('error') };
}

/** Default identity of a user object: its `id`, `_id`, `username` or `email`. */
export function defaultIdentify(user: unknown): string | undefined {
  if (user === undefined || user === null || user === false) return undefined;
  if (typeof user !== 'object') return String(user);
  const record = user as Record<string, unknown>;
  for (const key of ['id', '_id', 'username', 'email']) {
    const value = record[key];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') return `${key}:${value}`;
    if (value !== null && typeof value === 'object' && typeof value.toString === 'function') {
      const text = value.toString();
      if (text !== '[object Object]') return `${key}:${text}`;
    }
  }
  return `json:${JSON.stringify(user)}`;
}

function fail(name: string, expected: string, value: unknown): never {
  let shown: string;
  try {
    shown = typeof value === 'function' ? 'a function' : (JSON.stringify(value) ?? String(value));
  } catch {
    shown = String(value);
  }
  throw new TypeError(`bayeux(): option "${name}" must be ${expected}, got ${shown}`);
}

/** `unknown option "x"`, with the closest known name when one is near (a typo). */
function unknownOption(name: string, known: readonly string[], prefix = ''): never {
  const guess = closest(name, known as string[]);
  const near = guess !== undefined && distance(name.toLowerCase(), guess.toLowerCase()) <= Math.max(1, Math.floor(name.length / 4));
  throw new TypeError(`bayeux(): unknown option "${prefix}${name}"${near ? `; did you mean "${prefix}${guess}"?` : ''}`);
}

/**
 * Durations are milliseconds; Faye counts seconds. A value under one second
 * for a duration people usually set in seconds is most likely one of those.
 */
function secondsWarning(name: string, value: number): string | undefined {
  if (value <= 0 || value >= 1000) return undefined;
  return `option "${name}" is ${value} ms; durations are milliseconds (Faye counts seconds): did you mean ${value * 1000}?`;
}

function integer(options: Record<string, unknown>, name: string, fallback: number, min: number, prefix = ''): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    fail(prefix + name, `an integer >= ${min}`, value);
  }
  return value;
}

function boolean(options: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(name, 'a boolean', value);
  return value;
}

function optionalFunction<F>(options: Record<string, unknown>, name: string, prefix = ''): F | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'function') fail(prefix + name, 'a function', value);
  return value as F;
}

function isOriginRule(value: unknown): value is OriginRule {
  const single = (v: unknown) => typeof v === 'string' || v instanceof RegExp;
  return single(value) || typeof value === 'function' || (Array.isArray(value) && value.every(single));
}

function resolveCors(value: unknown): Required<CorsOptions> | undefined {
  if (value === undefined || value === false) return undefined;
  if (typeof value !== 'object' || value === null) fail('cors', 'false or { origin, credentials?, maxAge? }', value);
  const cors = value as Record<string, unknown>;
  if (!isOriginRule(cors.origin)) fail('cors.origin', 'a string, RegExp, array of them, or function', cors.origin);
  if (cors.origin === '*' && cors.credentials !== false) {
    fail('cors.origin', 'a list of origins when credentials are allowed (use credentials: false with "*")', cors.origin);
  }
  return {
    origin: cors.origin,
    credentials: boolean(cors, 'credentials', true),
    maxAge: integer(cors, 'maxAge', 600, 0),
  };
}

function resolveServices<User>(value: unknown): Map<string, ServiceHandler<User>> {
  const services = new Map<string, ServiceHandler<User>>();
  if (value === undefined) return services;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail('services', 'an object mapping names to functions', value);
  }
  for (const [name, handler] of Object.entries(value)) {
    if (typeof handler !== 'function') fail(`services.${name}`, 'a function', handler);
    if (name !== '_handler' && !/^[A-Za-z0-9\-_!~()$@.]+(\/[A-Za-z0-9\-_!~()$@.]+)*$/.test(name)) {
      fail(`services.${name}`, 'named by channel segments (the name after /service/)', name);
    }
    services.set(name, handler as ServiceHandler<User>);
  }
  return services;
}

function resolveExtensions<User>(value: unknown): Extension<User>[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail('extensions', 'an array', value);
  value.forEach((extension: unknown, i) => {
    const e = extension as Record<string, unknown> | null;
    if (typeof e !== 'object' || e === null) fail(`extensions[${i}]`, 'an object', extension);
    for (const hook of ['incoming', 'outgoing']) {
      if (e[hook] !== undefined && typeof e[hook] !== 'function') fail(`extensions[${i}].${hook}`, 'a function', e[hook]);
    }
  });
  return value as Extension<User>[];
}

function resolveEngine(value: unknown): Engine {
  if (value === undefined) return memoryEngine();
  const engine = value as Record<string, unknown> | null;
  const methods = [
    'open',
    'close',
    'createSession',
    'session',
    'claim',
    'destroySession',
    'destroyUserSessions',
    'subscribe',
    'unsubscribe',
    'presence',
    'publish',
    'push',
    'countSessions',
    'takeTokens',
  ];
  if (typeof engine !== 'object' || engine === null || methods.some((m) => typeof engine[m] !== 'function')) {
    fail('engine', 'an Engine (e.g. memoryEngine() or redisEngine())', value);
  }
  return value as Engine;
}

function resolveRateLimit(value: unknown): ResolvedOptions['rateLimit'] {
  if (value === false) return { session: undefined, ip: undefined };
  if (value === undefined) value = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('rateLimit', 'false or { session?, ip? }', value);
  const o = value as Record<string, unknown>;
  for (const name of Object.keys(o)) {
    if (name !== 'session' && name !== 'ip') throw new TypeError(`bayeux(): unknown option "rateLimit.${name}"`);
  }
  const one = (name: 'session' | 'ip'): RateLimit | undefined => {
    const limit = o[name];
    if (limit === false) return undefined;
    if (limit === undefined) return { ...RATE_LIMIT_DEFAULTS[name] };
    const l = limit as Record<string, unknown> | null;
    if (typeof l !== 'object' || l === null) fail(`rateLimit.${name}`, 'false or { rate, burst }', limit);
    if (typeof l.rate !== 'number' || !Number.isFinite(l.rate) || l.rate <= 0) {
      fail(`rateLimit.${name}.rate`, 'a positive number of messages per second', l.rate);
    }
    return { rate: l.rate, burst: integer(l, 'burst', Math.max(1, Math.ceil(l.rate)), 1, `rateLimit.${name}.`) };
  };
  return { session: one('session'), ip: one('ip') };
}

function resolveLogger(value: unknown): Logger {
  if (value === undefined) return defaultLogger();
  if (value === false) return SILENT;
  const logger = value as Record<string, unknown> | null;
  if (typeof logger !== 'object' || logger === null || ['debug', 'info', 'warn', 'error'].some((m) => typeof logger[m] !== 'function')) {
    fail('logger', 'false or a logger with debug/info/warn/error (e.g. pino)', value);
  }
  return value as Logger;
}

function resolveWebSocket(value: unknown, maxBodySize: number): ResolvedWebSocketOptions {
  if (value === undefined) value = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('websocket', 'an object', value);
  const o = value as Record<string, unknown>;
  const known = ['path', 'maxPayload', 'pingInterval', 'maxBufferedBytes', 'origins', 'handshake', 'protocols', 'maxInvalidFrames'];
  for (const name of Object.keys(o)) {
    if (!known.includes(name)) unknownOption(name, known, 'websocket.');
  }
  const path = o.path ?? WEBSOCKET_DEFAULTS.path;
  if (typeof path !== 'string' || !path.startsWith('/')) fail('websocket.path', 'a path starting with "/"', path);
  if (o.origins !== undefined && !isOriginRule(o.origins))
    fail('websocket.origins', 'a string, RegExp, array of them, or function', o.origins);
  const protocols = o.protocols ?? WEBSOCKET_DEFAULTS.protocols;
  if (!Array.isArray(protocols) || !protocols.every((p) => typeof p === 'string' && /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(p))) {
    fail('websocket.protocols', 'an array of subprotocol tokens', protocols);
  }
  const sub = (name: string, fallback: number, min: number) => integer(o, name, fallback, min, 'websocket.');
  return {
    path: path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path,
    pathSet: o.path !== undefined,
    maxPayload: sub('maxPayload', maxBodySize, 64),
    pingInterval: sub('pingInterval', WEBSOCKET_DEFAULTS.pingInterval, 0),
    maxBufferedBytes: sub('maxBufferedBytes', WEBSOCKET_DEFAULTS.maxBufferedBytes, 1024),
    origins: o.origins as OriginRule | undefined,
    handshake: optionalFunction<ResolvedWebSocketOptions['handshake']>(o, 'handshake', 'websocket.'),
    protocols: [...(protocols as string[])],
    maxInvalidFrames: sub('maxInvalidFrames', WEBSOCKET_DEFAULTS.maxInvalidFrames, 0),
  };
}

function resolveHistory(value: unknown): HistoryConfig | undefined {
  if (value === undefined || value === false) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail('history', 'false or { channels, size?, ttl?, salesforce? }', value);
  const o = value as Record<string, unknown>;
  for (const name of Object.keys(o)) {
    if (!['channels', 'size', 'ttl', 'salesforce'].includes(name)) throw new TypeError(`bayeux(): unknown option "history.${name}"`);
  }
  const channels = o.channels;
  if (!Array.isArray(channels) || channels.length === 0) fail('history.channels', 'a non-empty array of channel patterns', channels);
  for (const channel of channels as unknown[]) {
    if (!isValidChannel(channel) || isMeta(channel) || isService(channel)) {
      fail('history.channels', 'broadcast channel patterns such as "/chat/*" (not /meta or /service)', channel);
    }
  }
  const ttl = integer(o, 'ttl', HISTORY_DEFAULTS.ttl, 1, 'history.');
  // A ttl under a second is almost surely seconds given for milliseconds.
  if (ttl < 1000) fail('history.ttl', 'milliseconds (>= 1000; e.g. 60000 for a minute, not 60)', ttl);
  const salesforce = o.salesforce ?? HISTORY_DEFAULTS.salesforce;
  if (typeof salesforce !== 'boolean') fail('history.salesforce', 'a boolean', salesforce);
  return {
    channels: [...(channels as string[])],
    size: integer(o, 'size', HISTORY_DEFAULTS.size, 1, 'history.'),
    ttl,
    salesforce,
  };
}

const KNOWN = new Set<string>([
  'timeout',
  'interval',
  'maxInterval',
  'clientMaxConnections',
  'maxBodySize',
  'maxMessagesPerRequest',
  'maxQueue',
  'queuePolicy',
  'maxSessions',
  'maxSessionsPerIp',
  'anonPublish',
  'callbackPolling',
  'ack',
  'services',
  'messageACL',
  'sessionExpiry',
  'rateLimit',
  'extensions',
  'engine',
  'logger',
  'closeTimeout',
  'cors',
  'identify',
  'websocket',
  'history',
]);

/** Applies defaults and checks every option; throws a `TypeError` naming the first bad one. */
export function resolveOptions<User>(input: BayeuxOptions<User> = {}): ResolvedOptions<User> {
  if (typeof input !== 'object' || input === null) fail('options', 'an object', input);
  const o = input as Record<string, unknown>;
  for (const name of Object.keys(o)) {
    if (!KNOWN.has(name)) unknownOption(name, [...KNOWN]);
  }
  const maxBodySize = integer(o, 'maxBodySize', DEFAULTS.maxBodySize, 64);
  const queuePolicy = o.queuePolicy ?? DEFAULTS.queuePolicy;
  if (queuePolicy !== 'disconnect' && queuePolicy !== 'drop-oldest') {
    fail('queuePolicy', '"disconnect" or "drop-oldest"', queuePolicy);
  }
  const timeout = integer(o, 'timeout', DEFAULTS.timeout, 0);
  const interval = integer(o, 'interval', DEFAULTS.interval, 0);
  const maxInterval = integer(o, 'maxInterval', DEFAULTS.maxInterval, 1);
  const logger = resolveLogger(o.logger);
  for (const [name, value] of [
    ['timeout', timeout],
    ['interval', interval],
    ['maxInterval', maxInterval],
  ] as const) {
    const warning = o[name] === undefined ? undefined : secondsWarning(name, value);
    if (warning !== undefined) logger.warn({ option: name, value }, `express-bayeux: ${warning}`);
  }
  return {
    timeout,
    interval,
    maxInterval,
    clientMaxConnections: integer(o, 'clientMaxConnections', DEFAULTS.clientMaxConnections, 1),
    maxBodySize,
    maxMessagesPerRequest: integer(o, 'maxMessagesPerRequest', DEFAULTS.maxMessagesPerRequest, 1),
    maxQueue: integer(o, 'maxQueue', DEFAULTS.maxQueue, 1),
    queuePolicy,
    maxSessions: integer(o, 'maxSessions', DEFAULTS.maxSessions, 1),
    maxSessionsPerIp: integer(o, 'maxSessionsPerIp', DEFAULTS.maxSessionsPerIp, 1),
    anonPublish: boolean(o, 'anonPublish', DEFAULTS.anonPublish),
    callbackPolling: boolean(o, 'callbackPolling', DEFAULTS.callbackPolling),
    ack: boolean(o, 'ack', DEFAULTS.ack),
    services: resolveServices<User>(o.services),
    messageACL: optionalFunction<MessageACL<User>>(o, 'messageACL'),
    sessionExpiry: optionalFunction<SessionExpiry<User>>(o, 'sessionExpiry'),
    rateLimit: resolveRateLimit(o.rateLimit),
    extensions: resolveExtensions<User>(o.extensions),
    engine: resolveEngine(o.engine),
    logger,
    closeTimeout: integer(o, 'closeTimeout', DEFAULTS.closeTimeout, 1),
    cors: resolveCors(o.cors),
    identify: optionalFunction<(user: User) => string | undefined>(o, 'identify') ?? defaultIdentify,
    websocket: resolveWebSocket(o.websocket, maxBodySize),
    history: resolveHistory(o.history),
  };
}
