/**
 * The poll lane: once `server.attach(http)` is called, POSTs to the endpoint
 * whose messages are all `/meta/connect` are answered from the http server's
 * own 'request' listener, before the host's Express stack. Polls are nearly
 * all long-polling traffic and need none of that stack (sessions, Passport,
 * body parsers); everything else goes through it exactly as before.
 * Every protocol rule holds on the lane: body and message limits, the per-IP
 * cap (`req.ip` with the app's `trust proxy`), CORS and cross-site rules, and
 * the hijack refusal, which for a logged-in session needs the browser cookie
 * set at its handshake; a poll that cannot show it goes through Express.
 *
 * On a bare mount (no layer of the host's runs on the endpoint path before
 * the server, see mount.ts) there is nothing of the host's to skip, and the
 * lane serves every POST: handshakes, subscribes and publishes too, exactly
 * as the router would, with `req.user` undefined as it would be there.
 */
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { isPromise, type MaybePromise } from '../engines/maybe-promise.js';
import type { Session } from '../engines/session.js';
import { type Message, toMessages } from '../protocol/message.js';
import type { ServerCore } from '../server/core.js';
import type { OriginRule } from '../server/options/types.js';
import type { BodyReceiver } from './body.js';
import { browserOf, sameBrowser } from './browser.js';
import type { HttpEndpoint } from './http.js';
import { longPolling } from './long-polling.js';
import type { ExpressLike, MountPoint } from './mount.js';
import { type LaneIdentity, serveBatch } from './polling.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** What a lane poll needs to find out before it may skip the host's stack. */
const JSON_TYPE = /^(application\/json|text\/plain|application\/[^;]*\+json)/i;

function isConnect(message: Message): boolean {
  return message.channel === '/meta/connect';
}

/** Hands a request the lane read to the host's stack: body parsers and our router take `req.body`. */
function handOver(req: IncomingMessage, res: ServerResponse, value: unknown, pass: Listener): void {
  const carrier = req as IncomingMessage & { body?: unknown; _body?: boolean };
  carrier.body = value;
  carrier._body = true;
  pass(req, res);
}

/** One request the lane reads: what its body read ends in (one object per poll, no closures). */
class LaneRequest<User> implements BodyReceiver {
  constructor(
    private readonly lane: PollLane<User>,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly app: ExpressLike,
    readonly pass: Listener,
    /** The mount is bare: the lane serves what it would otherwise hand to the host's stack. */
    readonly bare: boolean,
  ) {}

  bodyRead(value: unknown): void {
    this.lane.route(this, value);
  }

  bodyFailed(err: unknown): void {
    this.lane.refuse(this.req, this.res, err);
  }
}

interface Installed {
  server: HttpServer | HttpsServer;
  listeners: Listener[];
  dispatch: Listener;
}

export class PollLane<User = unknown> {
  private readonly installed: Installed[] = [];

  constructor(
    private readonly core: ServerCore<User>,
    private readonly endpoint: HttpEndpoint,
  ) {}

  /**
   * Puts the lane in front of the server's request listeners (the Express
   * app): they still get every request the lane does not answer, in order.
   */
  install(server: HttpServer | HttpsServer, app: ExpressLike, mount: MountPoint): void {
    if (this.installed.some((i) => i.server === server)) return;
    const listeners = server.listeners('request') as Listener[];
    if (listeners.length === 0) return;
    const pass = (req: IncomingMessage, res: ServerResponse): void => {
      for (const listener of listeners) listener.call(server, req, res);
    };
    const dispatch: Listener = (req, res) => {
      const at = this.mayTake(req, mount);
      if (at === undefined) pass(req, res);
      else this.endpoint.reader.readTo(req, res, new LaneRequest(this, req, res, app, pass, at.bare));
    };
    server.removeAllListeners('request');
    server.on('request', dispatch);
    this.installed.push({ server, listeners, dispatch });
  }

  /** Gives the servers their own request listeners back. */
  uninstall(): void {
    for (const { server, listeners, dispatch } of this.installed) {
      server.off('request', dispatch);
      for (const listener of listeners) server.on('request', listener);
    }
    this.installed.length = 0;
  }

  /** A POST of JSON to the endpoint, while the server runs: the only requests the lane reads (with whether the mount is bare). */
  private mayTake(req: IncomingMessage, mount: MountPoint): { bare: boolean } | undefined {
    if (req.method !== 'POST' || this.core.closed || this.core.draining || !this.core.opened) return undefined;
    const type = req.headers['content-type'];
    if (type === undefined || !JSON_TYPE.test(type) || req.headers.upgrade !== undefined) return undefined;
    return mount.endpoint(req.url);
  }

  /** A bad body, or an engine that cannot look the session up: answered as the router would. */
  refuse(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    this.endpoint.withCors(req, res, () => this.endpoint.fail(res, err));
  }

  /**
   * Serves a batch of connects on the lane; hands anything else to the host's
   * stack with the body already read. Once the body is read, nothing awaits
   * unless the engine has to look a session up elsewhere.
   */
  route(read: LaneRequest<User>, value: unknown): void {
    const { req, res, app } = read;
    let messages: Message[];
    try {
      messages = toMessages(value, this.core.options.maxMessagesPerRequest);
    } catch (err) {
      this.refuse(req, res, err);
      return;
    }
    const polls = messages.every(isConnect);
    if (!polls && !read.bare) {
      handOver(req, res, value, read.pass);
      return;
    }
    // The app's request prototype gives `req.ip`, `req.secure` and `req.host` with its `trust proxy` setting.
    // Set only on the requests the lane serves (Express sets it on what it is handed), and after the body is
    // read: the stream's listeners were measurably slower to add on the re-prototyped object.
    Object.setPrototypeOf(req, app.request);
    if (!polls) {
      this.serveAs(read, value, messages, undefined);
      return;
    }
    let identity: MaybePromise<LaneIdentity<User> | undefined>;
    try {
      identity = this.identifyFrom(new Identifying<User>(req, this.core.options.cors?.origin), messages, 0);
    } catch (err) {
      this.refuse(req, res, err);
      return;
    }
    if (!isPromise(identity)) this.serveAs(read, value, messages, identity);
    else
      identity.then(
        (found) => this.serveAs(read, value, messages, found),
        (err: unknown) => this.refuse(req, res, err),
      );
  }

  /**
   * Serves the batch on the lane for `identity`. Without one the host's stack
   * serves it, or on a bare mount the lane does, as the router would (no identity).
   */
  private serveAs(read: LaneRequest<User>, value: unknown, messages: Message[], identity: LaneIdentity<User> | undefined): void {
    const { req, res } = read;
    if (identity === undefined && !read.bare) handOver(req, res, value, read.pass);
    else if (!this.endpoint.cors) this.serveOn(req, res, messages, identity);
    else this.endpoint.withCors(req, res, () => this.serveOn(req, res, messages, identity));
  }

  private serveOn(req: IncomingMessage, res: ServerResponse, messages: Message[], identity: LaneIdentity<User> | undefined): void {
    let served: MaybePromise<void>;
    try {
      served = serveBatch(this.core, req, res, messages, longPolling, identity);
    } catch (err) {
      this.endpoint.fail(res, err);
      return;
    }
    if (isPromise(served)) served.catch((err: unknown) => this.endpoint.fail(res, err));
  }

  /**
   * Who the polls speak for. A logged-in session is polled on the lane only
   * from the browser it handshook in; anything else (no cookie, another
   * browser, a cross-site request, sessions of two users) is undefined and
   * goes through the host's stack, where `req.user` is checked as before.
   * At once when the engine knows the sessions at once.
   */
  private identifyFrom(
    identity: Identifying<User>,
    messages: readonly Message[],
    from: number,
  ): MaybePromise<LaneIdentity<User> | undefined> {
    for (let i = from; i < messages.length; i++) {
      const clientId = (messages[i] as Message).clientId;
      if (typeof clientId !== 'string') continue;
      const session = this.core.engine.session(clientId);
      if (isPromise(session)) return this.identifyAfter(session, identity, messages, i, clientId);
      if (!identity.admits(clientId, session)) return undefined;
    }
    return identity;
  }

  private async identifyAfter(
    session: Promise<Session<User> | undefined>,
    identity: Identifying<User>,
    messages: readonly Message[],
    at: number,
    clientId: string,
  ): Promise<LaneIdentity<User> | undefined> {
    if (!identity.admits(clientId, await session)) return undefined;
    return this.identifyFrom(identity, messages, at + 1);
  }
}

/** What `identify` has found so far of the sessions a batch names. */
class Identifying<User> implements LaneIdentity<User> {
  userKey: string | undefined = undefined;
  looked: string | undefined = undefined;
  session: Session<User> | undefined = undefined;
  /** The browser cookie, read at the first logged-in session (null until then). */
  private browser: string | undefined | null = null;

  constructor(
    private readonly req: IncomingMessage,
    private readonly origins: OriginRule | undefined,
  ) {}

  /** Takes a session the batch names; false when the batch must go through the host's stack. */
  admits(clientId: string, session: Session<User> | undefined): boolean {
    // The core looks it up again as the batch is processed: the first one is handed over instead.
    if (this.looked === undefined) {
      this.looked = clientId;
      this.session = session;
    }
    if (session?.userKey === undefined) return true;
    if (this.browser === null) this.browser = browserOf(this.req, this.origins);
    if (!sameBrowser(this.browser, session.browser)) return false;
    if (this.userKey !== undefined && this.userKey !== session.userKey) return false;
    this.userKey = session.userKey;
    return true;
  }
}
