/**
 * The `websocket` connection type (RFC 6455 through `ws`, in noServer mode on
 * the host's own http.Server). Frames carry JSON arrays of Bayeux messages.
 * A `/meta/connect` is held as over HTTP, but deliveries go out as soon as
 * they are queued, several per frame when they pile up. A socket whose peer
 * reads too slowly stops receiving writes; its messages wait in the session
 * queue, whose limit then ends the session.
 */
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import type { Session } from '../engines/session.js';
import { InvalidMessagesError, type Message, toMessages } from '../protocol/message.js';
import type { Connection } from '../server/connections.js';
import type { ServerCore } from '../server/core.js';
import type { BayeuxRequest } from '../server/options/types.js';
import { RequestState } from '../server/request.js';
import { overCapWarning } from './client-ip.js';
import { atEndpoint } from './endpoint.js';
import { FrameCache } from './frames.js';
import type { ExpressLike, MountPoint } from './mount.js';
import { requestUser } from './origin.js';
import { admit, refuseUpgrade, type UpgradeMiddleware } from './upgrade.js';

/** Options of `server.attach()`. */
export interface AttachOptions {
  /**
   * Upgrade path; default: the `websocket.path` option when given, else the
   * path the app mounts the server on, else `/cometd`.
   */
  path?: string;
  /**
   * The Express app, so upgrade requests get its request prototype (`req.ip`
   * with `trust proxy`, `req.get`, ...) and the mount path is found. Found on
   * its own when the server was made by `app.listen()`.
   */
  app?: ExpressLike;
  /**
   * Answer long-polling `/meta/connect` requests before the app's middleware
   * (the poll lane); default true. False: every request goes through Express.
   */
  lane?: boolean;
}

/** Where an attached transport takes upgrades. */
export interface UpgradeRoute {
  /** A path given to attach() or as `websocket.path`; overrides the mount. */
  path: string | undefined;
  app: ExpressLike | undefined;
  mount: MountPoint;
}

/** Close codes used by the transport. */
const CLOSE = { normal: 1000, goingAway: 1001, unsupported: 1003, policy: 1008, restart: 1012 } as const;

/** One socket. */
class SocketConnection<User> implements Connection {
  readonly persistent = true;
  writable = true;
  /** The session whose deliveries this socket carries. */
  session: Session<User> | undefined;
  invalidFrames = 0;
  /** Answered the last ping. */
  alive = true;
  /** Frames are processed one after the other, in arrival order. */
  private processing: Promise<void> = Promise.resolve();
  /** Called by `ws` once a frame is written out; resumes deliveries after backpressure. */
  private readonly onSent = (): void => {
    if (!this.writable && this.ws.readyState === WebSocket.OPEN && this.ws.bufferedAmount <= this.maxBufferedBytes / 2) {
      this.writable = true;
      if (this.session !== undefined) this.resume(this.session);
    }
  };

  constructor(
    readonly ip: string,
    readonly ws: WebSocket,
    readonly req: IncomingMessage,
    readonly upgrade: Record<string, unknown> | undefined,
    /** `req.user` of the upgrade request (after `useOnUpgrade` middleware) and its identity. */
    readonly user: User | undefined,
    readonly userKey: string | undefined,
    private readonly maxBufferedBytes: number,
    private readonly resume: (session: Session<User>) => void,
    private readonly frames: FrameCache,
  ) {}

  write(messages: string[]): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.frames.write(this.ws, messages, this.onSent);
    if (this.ws.bufferedAmount > this.maxBufferedBytes) this.writable = false;
  }

  enqueue(work: () => Promise<void>): void {
    this.processing = this.processing.then(work);
  }
}

export class WebSocketTransport<User = unknown> {
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<SocketConnection<User>>();
  private readonly middleware: UpgradeMiddleware[] = [];
  private readonly attached: {
    server: HttpServer | HttpsServer;
    listener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  }[] = [];
  private pinger: NodeJS.Timeout | undefined;
  /** Shared by every socket: recipients of one broadcast get the same frame bytes. */
  private readonly frames = new FrameCache();

  constructor(private readonly core: ServerCore<User>) {
    const options = core.options.websocket;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayload,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: (offered) => {
        for (const protocol of offered) if (options.protocols.includes(protocol)) return protocol;
        return false;
      },
    });
  }

  /** Adds Express middleware run on every upgrade request before the handshake hook. */
  use(...middleware: UpgradeMiddleware[]): void {
    for (const fn of middleware) {
      if (typeof fn !== 'function') throw new TypeError('server.useOnUpgrade(): every argument must be a middleware function');
      this.middleware.push(fn);
    }
  }

  /** Takes WebSocket upgrades on the endpoint's path from `server`; leaves other upgrades to other listeners. */
  attach(server: HttpServer | HttpsServer, route: UpgradeRoute): void {
    if (this.attached.some((a) => a.server === server)) return;
    const { app, mount } = route;
    const fallback = this.core.options.websocket.path;
    const listener = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      const ours =
        route.path !== undefined
          ? atEndpoint(req.url, route.path)
          : mount.isEndpoint(req.url) || (!mount.mounted() && atEndpoint(req.url, fallback));
      if (!ours) {
        // Nobody else listens: say where the endpoint is instead of leaving the socket hanging.
        if (server.listenerCount('upgrade') === 1) {
          const where = route.path ?? (mount.mounted() ? 'the path the app mounts the Bayeux server on' : fallback);
          refuseUpgrade(
            socket,
            Object.assign(new Error(`no WebSocket endpoint here; the Bayeux endpoint is ${where}`), {
              status: 404,
              expose: true,
              type: 'websocket.path',
            }),
          );
        }
        return;
      }
      if (app !== undefined) Object.setPrototypeOf(req, app.request);
      this.upgrade(req, socket, head);
    };
    server.on('upgrade', listener);
    this.attached.push({ server, listener });
    this.core.addConnectionType('websocket');
    this.startPinging();
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const core = this.core;
    socket.on('error', () => socket.destroy());
    (async () => {
      if (core.closed) throw Object.assign(new Error('the Bayeux server is closed'), { status: 503, expose: true });
      if (core.draining) throw Object.assign(new Error('the Bayeux server is draining'), { status: 503, expose: true });
      if (!core.opened) await core.ready;
      return admit(req, core.options.websocket, this.origins(), this.middleware, (ip) => {
        if (core.registry.mayHold(ip)) return true;
        core.logger.warn({ ip }, overCapWarning(req, ip, 'connections'));
        return false;
      });
    })().then(
      (admission) => {
        if (socket.destroyed) return;
        this.wss.handleUpgrade(req, socket, head, (ws) => this.open(ws, req, admission.ip, admission.upgrade));
      },
      (err: unknown) => {
        if ((err as { status?: number }).status === undefined) core.logger.error({ err }, 'express-bayeux: WebSocket upgrade failed');
        refuseUpgrade(socket, err);
      },
    );
  }

  private open(ws: WebSocket, req: IncomingMessage, ip: string, upgrade: Record<string, unknown> | undefined): void {
    const core = this.core;
    const user = requestUser(req, this.origins()) as User | undefined;
    const userKey = user === undefined ? undefined : core.options.identify(user);
    const connection = new SocketConnection(
      ip,
      ws,
      req,
      upgrade,
      user,
      userKey,
      core.options.websocket.maxBufferedBytes,
      (s) => core.registry.wake(s),
      this.frames,
    );
    this.sockets.add(connection);
    core.registry.acquire(ip);
    ws.on('pong', () => {
      connection.alive = true;
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        ws.close(CLOSE.unsupported, 'Bayeux frames are text');
        return;
      }
      connection.enqueue(() => this.frame(connection, data));
    });
    ws.on('error', (err) => core.logger.debug({ err, ip }, 'express-bayeux: WebSocket error'));
    ws.on('close', () => {
      this.sockets.delete(connection);
      core.registry.release(ip);
      if (connection.session !== undefined) core.registry.detachSocket(connection.session, connection);
      connection.session = undefined;
    });
  }

  private async frame(connection: SocketConnection<User>, data: RawData): Promise<void> {
    const core = this.core;
    let messages: Message[];
    try {
      messages = toMessages(JSON.parse(data.toString()), core.options.maxMessagesPerRequest);
    } catch (err) {
      this.invalid(connection, err instanceof InvalidMessagesError ? err.message : 'the frame is not valid JSON');
      return;
    }
    const request = new RequestState<User>(
      {
        ip: connection.ip,
        user: connection.user,
        // The upgrade request got the app's request prototype and ran `useOnUpgrade` middleware.
        req: connection.req as BayeuxRequest,
        transport: 'websocket',
        upgrade: connection.upgrade,
      },
      connection.userKey,
    );
    try {
      await core.process(messages, request);
    } catch (err) {
      core.logger.error({ err }, 'express-bayeux: WebSocket frame failed');
      return;
    }
    const connected = request.connect?.session;
    if (connected !== undefined && connected !== connection.session && connected.alive) {
      if (connection.session !== undefined) core.registry.detachSocket(connection.session, connection);
      connection.session = connected;
      core.registry.attachSocket(connected, connection);
    }
    core.registry.respond(connection, request.replies, request.connect);
    // /meta/disconnect over the socket ends the session and then the socket.
    if (request.disconnected) connection.ws.close(CLOSE.normal, 'disconnected');
  }

  private invalid(connection: SocketConnection<User>, why: string): void {
    connection.invalidFrames++;
    connection.write([JSON.stringify({ channel: '/meta/error', successful: false, error: `400::${why}` })]);
    if (connection.invalidFrames > this.core.options.websocket.maxInvalidFrames) {
      connection.ws.close(CLOSE.policy, 'too many invalid frames');
    }
  }

  /** Origins whose pages may open credentialed sockets: `websocket.origins`, else `cors.origin`. */
  private origins() {
    return this.core.options.websocket.origins ?? this.core.options.cors?.origin;
  }

  private startPinging(): void {
    const every = this.core.options.websocket.pingInterval;
    if (this.pinger !== undefined || every === 0) return;
    this.pinger = setInterval(() => {
      for (const connection of this.sockets) {
        if (!connection.alive) {
          connection.ws.terminate();
          continue;
        }
        connection.alive = false;
        connection.ws.ping();
      }
    }, every);
    this.pinger.unref();
  }

  /** Closes every socket with 1012 (service restart): its client reconnects, through the balancer, to another node. */
  drain(): Promise<void> {
    return this.closeSockets(CLOSE.restart, 'server draining');
  }

  /** Stops taking upgrades and closes every socket with 1001 (after held connects were answered). */
  async close(): Promise<void> {
    clearInterval(this.pinger);
    this.pinger = undefined;
    for (const { server, listener } of this.attached) server.off('upgrade', listener);
    this.attached.length = 0;
    await this.closeSockets(CLOSE.goingAway, 'server closing');
  }

  private async closeSockets(code: number, reason: string): Promise<void> {
    const closing = [...this.sockets].map(
      (connection) =>
        new Promise<void>((resolve) => {
          if (connection.ws.readyState === WebSocket.CLOSED) return resolve();
          connection.ws.once('close', () => resolve());
          // Nothing more is taken from the session's queue for this socket: what comes now waits for the client's
          // next connection (on another node after a drain, which takes the queue over).
          connection.writable = false;
          connection.ws.close(code, reason);
          // A peer that never answers the close frame is cut off.
          setTimeout(() => connection.ws.terminate(), 1000).unref();
        }),
    );
    await Promise.all(closing);
  }
}
