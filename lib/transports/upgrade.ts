/**
 * The gate in front of WebSocket upgrades: which requests are ours, which
 * are refused (foreign origin with cookies, per-IP cap, the host's middleware,
 * the `websocket.handshake` hook) and how a refusal is written on the raw
 * socket. Nothing here knows Bayeux.
 */
import { type IncomingMessage, ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import createError from 'http-errors';
import type { ResolvedWebSocketOptions } from '../server/options/resolved.js';
import type { OriginRule, UpgradeVerdict } from '../server/options/types.js';
import { clientIp } from './client-ip.js';
import { isCrossSite } from './origin.js';
import { type ErrorDefaults, errorResponse } from './respond.js';

/**
 * Express-style middleware run on upgrade requests (e.g. express-session,
 * passport.session()). Declared as a method so Express's `RequestHandler`,
 * typed for its richer `Request`, is accepted as is (upgrade requests get the
 * app's request prototype).
 */
export type UpgradeMiddleware = {
  middleware(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void;
}['middleware'];

/** An accepted upgrade: who it is from and what the hook returned. */
export interface Admission {
  ip: string;
  upgrade: Record<string, unknown> | undefined;
}

const UPGRADE_DEFAULTS: ErrorDefaults = {
  text: (status) => STATUS_CODES[status] ?? 'Error',
  type: () => 'websocket.upgrade.refused',
};

/** Answers an upgrade request with a plain HTTP error and closes the socket cleanly. */
export function refuseUpgrade(socket: Duplex, err: unknown): void {
  const { status, body } = errorResponse(err, UPGRADE_DEFAULTS);
  // Only fixed strings and a number go into the header block; the reason stays in the JSON body.
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    status === 503 ? 'Retry-After: 1' : '',
  ].filter((line) => line !== '');
  if (socket.writable) socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  else socket.destroy();
}

/** Runs Express middleware on an upgrade request; resolves when the last calls next(). */
function runMiddleware(req: IncomingMessage, chain: readonly UpgradeMiddleware[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const res = new ServerResponse(req);
    // Middleware that answers instead of calling next() refuses the upgrade with its status.
    const end = res.end.bind(res);
    res.end = ((...args: Parameters<ServerResponse['end']>) => {
      reject(
        createError(res.statusCode >= 400 ? res.statusCode : 403, 'refused by upgrade middleware', {
          type: 'websocket.upgrade.middleware',
        }),
      );
      return end(...args);
    }) as ServerResponse['end'];
    let index = 0;
    const next = (err?: unknown): void => {
      if (err !== undefined && err !== null && err !== 'route') {
        reject(err);
        return;
      }
      const fn = chain[index++];
      if (fn === undefined) {
        resolve();
        return;
      }
      try {
        fn(req, res, next);
      } catch (thrown) {
        reject(thrown);
      }
    };
    next();
  });
}

/** Decides on an upgrade request; throws an http-errors error to refuse it. */
export async function admit(
  req: IncomingMessage,
  options: ResolvedWebSocketOptions,
  origins: OriginRule | undefined,
  middleware: readonly UpgradeMiddleware[],
  mayHold: (ip: string) => boolean,
): Promise<Admission> {
  const ip = clientIp(req);
  if (!mayHold(ip)) {
    throw createError(503, 'Too many connections from your IP', { type: 'bayeux.connections.limit', expose: true });
  }
  // Cross-site WebSocket hijacking: a foreign page opening a socket that carries the user's cookies.
  const credentialed = req.headers.cookie !== undefined || req.headers.authorization !== undefined;
  if (credentialed && isCrossSite(req, origins)) {
    throw createError(403, 'Origin not allowed', { type: 'websocket.origin' });
  }
  if (middleware.length > 0) await runMiddleware(req, middleware);
  let verdict: UpgradeVerdict;
  if (options.handshake !== undefined) {
    verdict = await options.handshake(req);
    if (verdict === false) throw createError(403, 'Upgrade refused', { type: 'websocket.handshake' });
  }
  const upgrade = typeof verdict === 'object' && verdict !== null ? verdict : undefined;
  return { ip, upgrade };
}
