/**
 * `bayeux(options)`: one object that is at once an Express request handler,
 * an EventEmitter of server events and the server API, the way Express's own
 * `app` is a function with EventEmitter mixed in.
 */
import { EventEmitter } from 'node:events';
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Registry } from 'prom-client';
import type { Engine, EngineHealth, PresenceEntry } from './engines/engine.js';
import { isValidChannel } from './protocol/channel.js';
import { ServerClosedError, type ServerState } from './server/closed.js';
import type { ConnectionStats } from './server/connections.js';
import { ServerCore } from './server/core.js';
import { checkDrainOptions, type DrainOptions, type DrainResult, drain } from './server/drain.js';
import type { BayeuxEvents } from './server/events.js';
import { checkLocalChannel, type LocalHandler, type PublishOptions, publishLocal, pushLocal } from './server/local.js';
import { registerMetrics } from './server/metrics.js';
import { resolveOptions } from './server/options/resolve.js';
import type { BayeuxOptions } from './server/options/types.js';
import { createErrorHandler, createHttpEndpoint, type ErrorHandler, type HttpEndpoint } from './transports/http.js';
import { PollLane } from './transports/lane.js';
import { type ExpressLike, isExpressApp, MountPoint } from './transports/mount.js';
import type { UpgradeMiddleware } from './transports/upgrade.js';
import { type AttachOptions, WebSocketTransport } from './transports/websocket.js';

/** What `server.stats()` reports. */
export interface ServerStats extends ConnectionStats {
  /** Live sessions (in the whole cluster with a shared engine). */
  sessions: number;
  /** Patterns with local subscribers on this node. */
  localSubscriptions: number;
}

/** What `server.health()` reports, for a load balancer's health check. */
export interface ServerHealth {
  /** True when this node can serve requests now: answer the health check 200, else 503. */
  ok: boolean;
  /** `closed` after `close()`, `draining` during `drain()`; otherwise the engine's status (`up`, `starting`, `down`). */
  status: EngineHealth['status'] | 'draining';
  /** What the engine reports (Redis state, since when, why). */
  engine: EngineHealth;
}

/** Options of `server.presence()`. */
export interface PresenceOptions {
  /** Most entries returned (a bounded read). Default 1000. */
  limit?: number;
}

const DEFAULT_PRESENCE_LIMIT = 1000;

/** The object `bayeux()` returns: mount it with `app.use(path, server)`. */
export interface BayeuxServer<User = Express.User> extends EventEmitter<BayeuxEvents<User>> {
  // Listener methods over the event names, so a misspelt event says which names exist (not a bare `never`).
  on<K extends keyof BayeuxEvents<User>>(event: K, listener: (...args: BayeuxEvents<User>[K]) => void): this;
  once<K extends keyof BayeuxEvents<User>>(event: K, listener: (...args: BayeuxEvents<User>[K]) => void): this;
  off<K extends keyof BayeuxEvents<User>>(event: K, listener: (...args: BayeuxEvents<User>[K]) => void): this;
  addListener<K extends keyof BayeuxEvents<User>>(event: K, listener: (...args: BayeuxEvents<User>[K]) => void): this;
  removeListener<K extends keyof BayeuxEvents<User>>(event: K, listener: (...args: BayeuxEvents<User>[K]) => void): this;
  prependListener<K extends keyof BayeuxEvents<User>>(event: K, listener: (...args: BayeuxEvents<User>[K]) => void): this;
  prependOnceListener<K extends keyof BayeuxEvents<User>>(event: K, listener: (...args: BayeuxEvents<User>[K]) => void): this;
  /** Handles a Bayeux request; other paths go to `next`. */
  (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void;
  /** The engine in use. */
  readonly engine: Engine<User>;
  /**
   * Express error handler that answers failures of middleware mounted before
   * the router (e.g. `express.json()` given bad JSON) as Bayeux JSON errors:
   * `app.use('/cometd', server, server.errorHandler)`.
   */
  readonly errorHandler: ErrorHandler;
  /** Resolves when the engine is open (requests wait for it on their own). */
  readonly ready: Promise<void>;
  /**
   * `running`, then `closing` once `close()` is called, then `closed`. From
   * `closing` on, requests get 503 and every method below throws (or rejects
   * with) a `ServerClosedError`, except `publish` and `push`, which drop their
   * message while closing (so `disconnect` listeners may publish) and reject once closed.
   */
  readonly state: ServerState;
  /**
   * Subscribes a local handler to a channel or pattern, on this node, without
   * handshake or ACL. Returns the function that unsubscribes it.
   */
  subscribe(channel: string, handler: LocalHandler): () => void;
  /** Publishes to every subscriber of `channel` on every node; resolves once routed. */
  publish(channel: string, data: unknown, options?: PublishOptions): Promise<void>;
  /** Queues a message for one client only; resolves false when the client is unknown. */
  push(clientId: string, channel: string, data: unknown): Promise<boolean>;
  /** Ends a client's session (reason `server`); resolves false when it was unknown. */
  disconnect(clientId: string): Promise<boolean>;
  /**
   * Signs a user out of Bayeux: ends every session bound to `user` (compared
   * with `identify`) on every node; each client is told to handshake again.
   * Resolves with how many sessions ended.
   */
  disconnectUser(user: User): Promise<number>;
  /**
   * The sessions subscribed to exactly `channel` (a channel or pattern, as
   * clients subscribed to it), on every node: at most `limit` (default 1000).
   */
  presence(channel: string, options?: PresenceOptions): Promise<PresenceEntry[]>;
  /**
   * Registers Prometheus metrics (`bayeux_*`) in `registry` (a new prom-client
   * Registry by default) and resolves with it; serve `registry.metrics()` at
   * `/metrics`. Needs the optional peer dependency `prom-client`. Until it is
   * called, metrics cost nothing. Idempotent for the same registry.
   */
  metrics(registry?: Registry): Promise<Registry>;
  /** Counts of sessions, held requests and sockets. */
  stats(): Promise<ServerStats>;
  /** Whether this node can serve now (without touching Redis): for load balancers' health checks. */
  health(): ServerHealth;
  /**
   * Takes WebSocket upgrades on the endpoint path from `httpServer` (the
   * server `app.listen()` returned), and offers `websocket` to clients.
   */
  attach(httpServer: HttpServer | HttpsServer, options?: AttachOptions): void;
  /**
   * Runs Express middleware (express-session, passport.session(), ...) on
   * upgrade requests, so `req.user` reaches the handshake and the ACL as it
   * does for long-polling.
   */
  useOnUpgrade(...middleware: UpgradeMiddleware[]): void;
  /**
   * Answers held requests, closes sockets (1001), stops timers, closes the
   * engine (the memory engine ends its sessions: `disconnect` with reason
   * `closed`). Idempotent; resolves within about twice `closeTimeout` whatever happens.
   */
  close(): Promise<void>;
  /**
   * Takes this node out of service without loss, then closes it: `health()`
   * says `draining` (not ok, so balancers stop sending), handshakes are
   * refused with jittered retry advice, held polls are answered at once with
   * their messages and advice to come back after a jittered pause, sockets
   * close with 1012. With the Redis engine each session's queue moves to the
   * node its next request lands on; the drain waits until no session is left
   * here or `timeout` ms (default 10000) passed, logs what stayed, and closes.
   */
  drain(options?: DrainOptions): Promise<DrainResult>;
}

const CORE = Symbol('express-bayeux.core');
const HTTP = Symbol('express-bayeux.http');
const SOCKETS = Symbol('express-bayeux.websocket');
const LANE = Symbol('express-bayeux.lane');
const METRICS = Symbol('express-bayeux.metrics');
const DRAINED = Symbol('express-bayeux.drained');

function checkAttachOptions(options: AttachOptions | undefined): AttachOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw new TypeError('server.attach(): options must be an object');
  for (const name of Object.keys(options)) {
    if (!['path', 'app', 'lane'].includes(name)) throw new TypeError(`server.attach(): unknown option "${name}"`);
  }
  const { path, lane, app } = options;
  if (path !== undefined && (typeof path !== 'string' || !path.startsWith('/'))) {
    throw new TypeError('server.attach(): path must start with "/"');
  }
  if (lane !== undefined && typeof lane !== 'boolean') throw new TypeError('server.attach(): lane must be a boolean');
  if (app !== undefined && !isExpressApp(app)) throw new TypeError('server.attach(): app must be an Express application');
  return options;
}

/** The Express app `app.listen()` put on `httpServer`, if any. */
function appOf(httpServer: HttpServer | HttpsServer): ExpressLike | undefined {
  for (const listener of httpServer.listeners('request')) if (isExpressApp(listener)) return listener;
  return undefined;
}

/** Throws the closed state's typed error from a method called after `close()`. */
function running(server: ServerMethods, method: string): void {
  if (server[CORE].closed) throw new ServerClosedError(method);
}

/**
 * The API of every server. Never constructed: its methods are copied onto the
 * prototype of the server functions, so `this` is a server function that
 * carries these hidden fields.
 */
class ServerMethods {
  declare readonly [CORE]: ServerCore<unknown>;
  declare readonly [HTTP]: HttpEndpoint;
  declare readonly [SOCKETS]: WebSocketTransport<unknown>;
  declare readonly [LANE]: PollLane<unknown>;
  declare [METRICS]: Promise<Registry> | undefined;
  /** The drain in progress: `drain()` is idempotent. */
  declare [DRAINED]: Promise<DrainResult> | undefined;

  get engine(): Engine<unknown> {
    return this[CORE].engine;
  }

  get ready(): Promise<void> {
    return this[CORE].ready;
  }

  get state(): ServerState {
    return this[CORE].state;
  }

  subscribe(channel: string, handler: LocalHandler): () => void {
    running(this, 'subscribe');
    checkLocalChannel('subscribe', channel, true);
    if (typeof handler !== 'function') throw new TypeError('server.subscribe(): handler must be a function');
    return this[CORE].subscribeLocal(channel, handler);
  }

  publish(channel: string, data: unknown, options?: PublishOptions): Promise<void> {
    // While closing, `disconnect` listeners (presence) may still publish: dropped, never an unhandled rejection.
    if (this[CORE].state === 'closing') return Promise.resolve();
    if (this[CORE].closed) return Promise.reject(new ServerClosedError('publish'));
    return publishLocal(this[CORE], channel, data, options);
  }

  push(clientId: string, channel: string, data: unknown): Promise<boolean> {
    if (this[CORE].state === 'closing') return Promise.resolve(false);
    if (this[CORE].closed) return Promise.reject(new ServerClosedError('push'));
    return pushLocal(this[CORE], clientId, channel, data);
  }

  async disconnect(clientId: string): Promise<boolean> {
    running(this, 'disconnect');
    const core = this[CORE];
    await core.ready;
    return core.engine.destroySession(clientId, 'server');
  }

  async disconnectUser(user: unknown): Promise<number> {
    const core = this[CORE];
    if (user === undefined || user === null) throw new TypeError('server.disconnectUser(): user is required');
    const key = core.options.identify(user);
    if (key === undefined) return 0;
    await core.ready;
    return core.engine.destroyUserSessions(key, 'revoked');
  }

  async presence(channel: string, options: PresenceOptions = {}): Promise<PresenceEntry[]> {
    if (typeof channel !== 'string' || !isValidChannel(channel)) {
      throw new TypeError(`server.presence(): ${JSON.stringify(channel)} is not a valid channel`);
    }
    const limit = options.limit ?? DEFAULT_PRESENCE_LIMIT;
    if (!Number.isInteger(limit) || limit < 1) throw new TypeError('server.presence(): option "limit" must be an integer >= 1');
    const core = this[CORE];
    await core.ready;
    return core.engine.presence(channel, limit);
  }

  async metrics(registry?: Registry): Promise<Registry> {
    const enabled = this[METRICS];
    if (enabled !== undefined) {
      const current = await enabled;
      if (registry !== undefined && registry !== current) {
        throw new TypeError('server.metrics(): metrics are already registered in another registry');
      }
      return current;
    }
    const core = this[CORE];
    const started = registerMetrics(core, registry).then(({ registry: used, hooks }) => {
      core.metrics = hooks;
      core.registry.onDelivered = hooks.delivered;
      return used;
    });
    this[METRICS] = started;
    // A failed start (no prom-client) may be retried once it is installed.
    started.catch(() => {
      if (this[METRICS] === started) this[METRICS] = undefined;
    });
    return started;
  }

  async stats(): Promise<ServerStats> {
    running(this, 'stats');
    const core = this[CORE];
    await core.ready;
    return {
      sessions: await core.engine.countSessions(),
      localSubscriptions: core.localSubscribers.size,
      ...core.registry.stats(),
    };
  }

  health(): ServerHealth {
    const core = this[CORE];
    const engine = core.engine.health?.() ?? { status: core.opened ? 'up' : 'starting', since: core.createdAt };
    const status = core.closed ? 'closed' : core.draining ? 'draining' : engine.status;
    return { ok: status === 'up' && core.opened, status, engine };
  }

  attach(httpServer: HttpServer | HttpsServer, options?: AttachOptions): void {
    running(this, 'attach');
    const o = checkAttachOptions(options);
    const app = o.app ?? appOf(httpServer);
    const mount = new MountPoint(app, this);
    const given = this[CORE].options.websocket;
    const path = o.path ?? (given.pathSet ? given.path : undefined);
    this[SOCKETS].attach(httpServer, {
      path: path !== undefined && path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path,
      app,
      mount,
    });
    if (o.lane !== false && app !== undefined) this[LANE].install(httpServer, app, mount);
  }

  useOnUpgrade(...middleware: UpgradeMiddleware[]): void {
    running(this, 'useOnUpgrade');
    this[SOCKETS].use(...middleware);
  }

  close(): Promise<void> {
    return this[CORE].close();
  }

  drain(options?: DrainOptions): Promise<DrainResult> {
    if (this[DRAINED] !== undefined) return this[DRAINED];
    const timeout = checkDrainOptions(options);
    running(this, 'drain');
    this[DRAINED] = drain(this[CORE], timeout);
    return this[DRAINED];
  }

  /** A listener's rejected promise (captureRejections): logged, never an 'error' event. */
  [EventEmitter.captureRejectionSymbol](err: unknown, event: string): void {
    this[CORE].logger.error({ err, event }, `express-bayeux: a "${event}" listener rejected`);
  }
}

/** Shared prototype of the server functions: Function (call/apply/bind), then EventEmitter's methods, then the API. */
const PROTO: object = Object.create(Function.prototype);
for (const source of [EventEmitter.prototype, ServerMethods.prototype]) {
  for (const key of Reflect.ownKeys(source)) {
    const descriptor = Object.getOwnPropertyDescriptor(source, key);
    if (key !== 'constructor' && descriptor !== undefined) Object.defineProperty(PROTO, key, descriptor);
  }
}

/** A server function with its hidden fields. */
type ServerFunction<User> = BayeuxServer<User> & ServerMethods;

/**
 * Creates a Bayeux server. Mount it with `app.use('/cometd', server)`; it is
 * also an EventEmitter (`server.on('publish', ...)`) and carries the local
 * client API (`subscribe`, `publish`, `push`). Throws a TypeError naming the
 * first invalid option.
 */
export function bayeux<User = Express.User>(options?: BayeuxOptions<User>): BayeuxServer<User> {
  const resolved = resolveOptions(options);
  // As pillarjs/router builds its router: a function that calls into its own prototype.
  const server: ServerFunction<User> = Object.setPrototypeOf(function bayeuxServer(
    req: IncomingMessage,
    res: ServerResponse,
    next?: (err?: unknown) => void,
  ): void {
    server[HTTP].handle(req, res, next);
  }, PROTO);
  // The documented way to make an object an emitter (see util.inherits), with the constructor's options.
  EventEmitter.call(server, { captureRejections: true });
  const core = new ServerCore<User>(resolved, server);
  const sockets = new WebSocketTransport<User>(core);
  const endpoint = createHttpEndpoint(core);
  const lane = new PollLane<User>(core, endpoint);
  core.onClose(async () => {
    lane.uninstall();
    await sockets.close();
  });
  core.onDrain(() => sockets.drain());
  Object.defineProperty(server, CORE, { value: core });
  Object.defineProperty(server, HTTP, { value: endpoint });
  Object.defineProperty(server, SOCKETS, { value: sockets });
  Object.defineProperty(server, LANE, { value: lane });
  Object.defineProperty(server, METRICS, { value: undefined, writable: true });
  Object.defineProperty(server, DRAINED, { value: undefined, writable: true });
  Object.defineProperty(server, 'errorHandler', { value: createErrorHandler(), enumerable: true });
  return server;
}
