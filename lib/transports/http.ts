/**
 * The HTTP entry point: an Express-compatible `(req, res, next)` handler for
 * the Bayeux endpoint and the sub-paths clients append to it (CometD posts
 * to `/cometd/connect`, ...). POST is long-polling, GET is callback-polling.
 * Every failure is answered here as JSON; nothing reaches the host app's
 * error handler.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from 'cors';
import createError from 'http-errors';
import { InvalidMessagesError, toMessages } from '../protocol/message.js';
import type { ServerCore } from '../server/core.js';
import type { ResolvedOptions } from '../server/options/resolved.js';
import { BodyReader } from './body.js';
import { readJsonp } from './callback-polling.js';
import { atEndpoint } from './endpoint.js';
import { longPolling } from './long-polling.js';
import { originAllowed } from './origin.js';
import { type Framing, serveBatch } from './polling.js';
import { sendHttpError } from './respond.js';

/** An Express (or plain `http`) request handler. */
type RequestHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

/** The HTTP side of the server: the router, and what the lane shares with it. */
export interface HttpEndpoint {
  /** The Express-compatible router. */
  readonly handle: RequestHandler;
  /** Reads POST bodies under `maxBodySize`. */
  readonly reader: BodyReader;
  /** True when CORS rules are configured (`withCors` has work to do). */
  readonly cors: boolean;
  /** Applies the CORS rules (when configured), then runs `then`. */
  withCors(req: IncomingMessage, res: ServerResponse, then: () => void): void;
  /** Answers a failed request as JSON. */
  fail(res: ServerResponse, err: unknown): void;
}

function isUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return typeof upgrade === 'string' && upgrade.toLowerCase() === 'websocket';
}

function toHttpError(err: unknown): unknown {
  if (!(err instanceof InvalidMessagesError)) return err;
  const tooMany = err.message.includes('more than the limit');
  return createError(tooMany ? 413 : 400, err.message, { type: tooMany ? 'bayeux.messages.too.many' : 'bayeux.messages.invalid' });
}

/** An Express error handler (four arguments): `app.use(path, server, server.errorHandler)`. */
export type ErrorHandler = (err: unknown, req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/**
 * Renders as JSON what failed before the router on the endpoint's paths
 * (e.g. `express.json()` mounted first and given bad JSON); other paths keep
 * the host's own error handling.
 */
export function createErrorHandler(): ErrorHandler {
  return (err, req, res, next) => {
    if (!atEndpoint(req.url)) {
      next(err);
      return;
    }
    sendHttpError(res, err);
  };
}

/** The `cors` middleware for the `cors` option, or undefined when it is off. */
function corsMiddleware(rules: ResolvedOptions['cors']): ReturnType<typeof cors> | undefined {
  if (rules === undefined) return undefined;
  return cors({
    // '*' (only allowed without credentials) is sent as is: responses stay cacheable across origins.
    origin: rules.origin === '*' ? '*' : (origin, callback) => callback(null, origin === undefined || originAllowed(rules.origin, origin)),
    credentials: rules.credentials,
    maxAge: rules.maxAge,
    methods: ['GET', 'POST'],
  });
}

/** Serves one request on an endpoint path; throws an http-errors error to refuse it. */
async function serve<User>(core: ServerCore<User>, reader: BodyReader, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // Node hands upgrades to 'request' listeners when nobody listens for 'upgrade': the usual missing attach().
  if (isUpgrade(req)) {
    throw createError(
      400,
      core.supports('websocket')
        ? 'this WebSocket upgrade was not taken: its path is not the one server.attach() listens on (attach(httpServer, { path }))'
        : 'WebSocket upgrades need server.attach(httpServer) (the server app.listen() returned)',
      { type: 'bayeux.websocket.not.attached' },
    );
  }
  if (core.closed) throw createError(503, 'the Bayeux server is closed', { type: 'bayeux.closed', expose: true });
  // A draining node ends each keep-alive connection after its response: the client's next request goes through the balancer again.
  if (core.draining) res.setHeader('Connection', 'close');
  if (!core.opened) {
    try {
      await core.ready;
    } catch {
      throw createError(503, `the ${core.engine.name} engine is unavailable`, { type: 'bayeux.engine.unavailable', expose: true });
    }
  }
  let value: unknown;
  let framing: Framing;
  if (req.method === 'POST') {
    value = await reader.read(req, res);
    framing = longPolling;
  } else if (req.method === 'GET' && core.options.callbackPolling) {
    ({ framing, value } = readJsonp(req));
  } else {
    throw createError(405, `${req.method} is not a Bayeux request; use POST (or GET for JSONP)`, { type: 'bayeux.method' });
  }
  const messages = toMessages(value, core.options.maxMessagesPerRequest);
  await serveBatch(core, req, res, messages, framing);
}

export function createHttpEndpoint<User>(core: ServerCore<User>): HttpEndpoint {
  const reader = new BodyReader(core.options.maxBodySize);
  const corsHandler = corsMiddleware(core.options.cors);

  function fail(res: ServerResponse, err: unknown): void {
    const httpError = toHttpError(err);
    if ((httpError as { status?: number }).status === undefined) {
      core.logger.error({ err }, 'express-bayeux: request failed');
    }
    sendHttpError(res, httpError);
  }

  function dispatch(req: IncomingMessage, res: ServerResponse): void {
    serve(core, reader, req, res).catch((err: unknown) => fail(res, err));
  }

  function withCors(req: IncomingMessage, res: ServerResponse, then: () => void): void {
    if (corsHandler === undefined) {
      then();
      return;
    }
    corsHandler(req, res, (err?: unknown) => {
      if (err !== undefined) sendHttpError(res, err);
      else then();
    });
  }

  const handle: RequestHandler = (req, res, next) => {
    if (!atEndpoint(req.url)) {
      if (next !== undefined) next();
      else sendHttpError(res, createError(404, 'not a Bayeux endpoint path', { type: 'bayeux.path' }));
      return;
    }
    withCors(req, res, () => dispatch(req, res));
  };
  return { handle, reader, cors: corsHandler !== undefined, withCors, fail };
}
