/**
 * What long-polling and callback-polling share: one HTTP request carries a
 * batch of messages and gets one response, held while a `/meta/connect`
 * waits for messages. Only the framing of the response differs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import createError from 'http-errors';
import { isPromise, type MaybePromise } from '../engines/maybe-promise.js';
import type { Session } from '../engines/session.js';
import { unavailableAdvice } from '../protocol/advice.js';
import type { Message } from '../protocol/message.js';
import type { Connection, Held } from '../server/connections.js';
import type { ServerCore } from '../server/core.js';
import type { BayeuxRequest, ConnectionType } from '../server/options/types.js';
import { RequestState } from '../server/request.js';
import { browserOf, setBrowserCookie } from './browser.js';
import { clientIp, overCapWarning } from './client-ip.js';
import { requestUser } from './origin.js';
import { send, sendHttpError } from './respond.js';

/** How a polling transport frames serialized messages into a response body. */
export interface Framing {
  readonly transport: ConnectionType;
  readonly contentType: string;
  body(parts: readonly string[]): string;
}

/** One HTTP response, written once. */
class HttpConnection implements Connection {
  readonly persistent = false;
  readonly writable = true;

  constructor(
    readonly ip: string,
    private readonly res: ServerResponse,
    private readonly framing: Framing,
    private readonly core: { readonly draining: boolean },
  ) {}

  write(messages: string[]): void {
    // A poll answered while the node drains ends its keep-alive connection: the next request goes through the balancer again.
    if (this.core.draining) this.res.setHeader('Connection', 'close');
    send(this.res, 200, this.framing.contentType, this.framing.body(messages));
  }
}

/** Pause advised (jittered) with a 503 for too many held requests from one IP. */
const OVER_CAP_INTERVAL = 1000;

/**
 * Who a lane poll speaks for: it has no `req.user`, but proved with its
 * browser cookie that it comes from the browser the session's user handshook in.
 */
export interface LaneIdentity<User = unknown> {
  readonly userKey: string | undefined;
  /** The clientId of a session the lane already looked up for this batch (its request need not look it up again). */
  readonly looked: string | undefined;
  /** That session, undefined when there is none. */
  readonly session: Session<User> | undefined;
}

/** Processes a batch and answers it, holding the response for a `/meta/connect`; at once when the core answers at once. */
export function serveBatch<User>(
  core: ServerCore<User>,
  req: IncomingMessage,
  res: ServerResponse,
  messages: Message[],
  framing: Framing,
  lane?: LaneIdentity<User>,
): MaybePromise<void> {
  const ip = clientIp(req);
  let connect: Message | undefined;
  for (const m of messages) {
    if (m.channel === '/meta/connect') {
      connect = m;
      break;
    }
  }
  if (connect !== undefined) {
    const clientId = typeof connect.clientId === 'string' ? connect.clientId : undefined;
    if (!core.registry.mayHold(ip, clientId)) {
      // Refused before anything is processed: nothing of this client is lost, it just retries.
      core.logger.warn({ ip }, overCapWarning(req, ip, 'held requests'));
      sendHttpError(
        res,
        createError(503, 'Too many connections from your IP', { type: 'bayeux.connections.limit', expose: true }),
        unavailableAdvice(OVER_CAP_INTERVAL),
      );
      return;
    }
  }
  const origins = core.options.cors?.origin;
  const user = lane === undefined ? (requestUser(req, origins) as User | undefined) : undefined;
  const userKey = lane !== undefined ? lane.userKey : user === undefined ? undefined : core.options.identify(user);
  const request = new RequestState<User>({ ip, user, req: req as BayeuxRequest, transport: framing.transport }, userKey);
  if (lane?.looked !== undefined) request.remember(lane.looked, lane.session);
  if (lane === undefined && userKey !== undefined) {
    request.browser = browserOf(req, origins);
    request.canSetCookie = true;
  }
  const processed = core.process(messages, request);
  if (isPromise(processed)) return answerAfter(processed, core, req, res, framing, request);
  answer(core, req, res, framing, request);
}

async function answerAfter<User>(
  processed: Promise<void>,
  core: ServerCore<User>,
  req: IncomingMessage,
  res: ServerResponse,
  framing: Framing,
  request: RequestState<User>,
): Promise<void> {
  await processed;
  answer(core, req, res, framing, request);
}

/** A held connect, kept on its response for the one 'close' listener every held response shares. */
const HELD = Symbol('held');
type HeldResponse = ServerResponse & { [HELD]?: Held<unknown> };

function abandonOnClose(this: HeldResponse): void {
  this[HELD]?.abandon();
}

/** Sends the batch's replies, or holds the response for its connect. */
function answer<User>(
  core: ServerCore<User>,
  req: IncomingMessage,
  res: ServerResponse,
  framing: Framing,
  request: RequestState<User>,
): void {
  if (request.issuedBrowser !== undefined) setBrowserCookie(req, res, request.issuedBrowser);
  const held = core.registry.respond(new HttpConnection(request.ctx.ip, res, framing, core), request.replies, request.connect);
  if (held === undefined) return;
  // The client may have gone while the batch was processed; otherwise wait for it to go.
  if (res.destroyed || req.socket.destroyed) held.abandon();
  else {
    (res as HeldResponse)[HELD] = held as Held<unknown>;
    res.on('close', abandonOnClose);
  }
}
