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
 */
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { type Message, toMessages } from '../protocol/message.js';
import type { ServerCore } from '../server/core.js';
import { browserOf, sameBrowser } from './browser.js';
import type { HttpEndpoint } from './http.js';
import { longPolling } from './long-polling.js';
import type { ExpressLike, MountPoint } from './mount.js';
import { type LaneIdentity, serveBatch } from './polling.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** What a lane poll needs to find out before it may skip the host's stack. */
const JSON_TYPE = /^(application\/json|text\/plain|application\/[^;]*\+json)/i;

/** Hands a request the lane read to the host's stack: body parsers and our router take `req.body`. */
function handOver(req: IncomingMessage, value: unknown, pass: () => void): void {
  const carrier = req as IncomingMessage & { body?: unknown; _body?: boolean };
  carrier.body = value;
  carrier._body = true;
  pass();
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
      if (!this.mayTake(req, mount)) pass(req, res);
      else this.serve(req, res, app, () => pass(req, res));
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

  /** A POST of JSON to the endpoint, while the server runs: the only requests the lane reads. */
  private mayTake(req: IncomingMessage, mount: MountPoint): boolean {
    if (req.method !== 'POST' || this.core.closed || this.core.draining || !this.core.opened) return false;
    const type = req.headers['content-type'];
    if (type === undefined || !JSON_TYPE.test(type) || req.headers.upgrade !== undefined) return false;
    return mount.isEndpoint(req.url);
  }

  private serve(req: IncomingMessage, res: ServerResponse, app: ExpressLike, pass: () => void): void {
    // Few promises per poll: the body, then (with a clientId) the session lookup; each step a plain method.
    this.endpoint.reader.read(req, res).then(
      (value) => this.route(req, res, app, value, pass),
      (err: unknown) => this.refuse(req, res, err),
    );
  }

  /** A bad body, or an engine that cannot look the session up: answered as the router would. */
  private refuse(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    this.endpoint.withCors(req, res, () => this.endpoint.fail(res, err));
  }

  /** Serves a batch of connects on the lane; hands anything else to the host's stack with the body already read. */
  private route(req: IncomingMessage, res: ServerResponse, app: ExpressLike, value: unknown, pass: () => void): void {
    let messages: Message[];
    try {
      messages = toMessages(value, this.core.options.maxMessagesPerRequest);
    } catch (err) {
      this.refuse(req, res, err);
      return;
    }
    for (const message of messages) {
      if (message.channel !== '/meta/connect') {
        handOver(req, value, pass);
        return;
      }
    }
    // The app's request prototype gives `req.ip`, `req.secure` and `req.host` with its `trust proxy` setting.
    // Set only on the polls the lane serves (Express sets it on what it is handed), and after the body is
    // read: the stream's listeners were measurably slower to add on the re-prototyped object.
    Object.setPrototypeOf(req, app.request);
    this.identify(req, messages).then(
      (identity) => {
        if (identity === undefined) {
          handOver(req, value, pass);
          return;
        }
        this.endpoint.withCors(req, res, () => {
          serveBatch(this.core, req, res, messages, longPolling, identity).catch((err: unknown) => this.endpoint.fail(res, err));
        });
      },
      (err: unknown) => this.refuse(req, res, err),
    );
  }

  /**
   * Who the polls speak for. A logged-in session is polled on the lane only
   * from the browser it handshook in; anything else (no cookie, another
   * browser, a cross-site request, sessions of two users) is undefined and
   * goes through the host's stack, where `req.user` is checked as before.
   */
  private async identify(req: IncomingMessage, messages: readonly Message[]): Promise<LaneIdentity<User> | undefined> {
    let userKey: string | undefined;
    let browser: string | undefined | null = null;
    let looked: LaneIdentity<User>['looked'];
    for (const message of messages) {
      if (typeof message.clientId !== 'string') continue;
      const session = await this.core.engine.session(message.clientId);
      // The core looks it up again as the batch is processed: the first one is handed over instead.
      looked ??= { clientId: message.clientId, session };
      if (session?.userKey === undefined) continue;
      if (browser === null) browser = browserOf(req, this.core.options.cors?.origin);
      if (!sameBrowser(browser, session.browser)) return undefined;
      if (userKey !== undefined && userKey !== session.userKey) return undefined;
      userKey = session.userKey;
    }
    return { userKey, looked };
  }
}
