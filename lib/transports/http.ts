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
import { BodyReader } from './body.js';
import { readJsonp } from './callback-polling.js';
import { longPolling } from './long-polling.js';
import { originAllowed } from './origin.js';
import { type Framing, serveBatch } from './polling.js';
import { sendHttpError } from './respond.js';

/** An Express (or plain `http`) request handler. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

/** Paths under the mount point that are the endpoint: its root and the message types CometD appends. */
const ENDPOINT_PATHS = new Set(['', '/', '/handshake', '/connect', '/disconnect', '/subscribe', '/unsubscribe']);

function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function toHttpError(err: unknown): unknown {
  if (!(err instanceof InvalidMessagesError)) return err;
  const tooMany = err.message.includes('more than the limit');
  return createError(tooMany ? 413 : 400, err.message, { type: tooMany ? 'bayeux.messages.too.many' : 'bayeux.messages.invalid' });
}

export function createHttpHandler<User>(core: ServerCore<User>): RequestHandler {
  const { options } = core;
  const reader = new BodyReader(options.maxBodySize);
  const corsRules = options.cors;
  const corsHandler =
    corsRules === undefined
      ? undefined
      : cors({
          // '*' (only allowed without credentials) is sent as is: responses stay cacheable across origins.
          origin:
            corsRules.origin === '*'
              ? '*'
              : (origin, callback) => callback(null, origin === undefined || originAllowed(corsRules.origin, origin)),
          credentials: corsRules.credentials,
          maxAge: corsRules.maxAge,
          methods: ['GET', 'POST'],
        });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (core.closed) throw createError(503, 'the Bayeux server is closed', { type: 'bayeux.closed' });
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
    } else if (req.method === 'GET' && options.callbackPolling) {
      ({ framing, value } = readJsonp(req));
    } else {
      throw createError(405, `${req.method} is not a Bayeux request; use POST (or GET for JSONP)`, { type: 'bayeux.method' });
    }
    const messages = toMessages(value, options.maxMessagesPerRequest);
    await serveBatch(core, req, res, messages, framing);
  }

  function dispatch(req: IncomingMessage, res: ServerResponse): void {
    serve(req, res).catch((err: unknown) => {
      const httpError = toHttpError(err);
      if ((httpError as { status?: number }).status === undefined) {
        core.logger.error({ err }, 'express-bayeux: request failed');
      }
      sendHttpError(res, httpError);
    });
  }

  return (req, res, next) => {
    if (!ENDPOINT_PATHS.has(pathOf(req.url))) {
      if (next !== undefined) next();
      else sendHttpError(res, createError(404, 'not a Bayeux endpoint path', { type: 'bayeux.path' }));
      return;
    }
    if (corsHandler === undefined) {
      dispatch(req, res);
      return;
    }
    corsHandler(req, res, (err?: unknown) => {
      if (err !== undefined) sendHttpError(res, err);
      else dispatch(req, res);
    });
  };
}
