/** The client address every per-IP limit and log line uses. */
import type { IncomingMessage } from 'node:http';

/**
 * Client address: Express's `req.ip` (which honours `trust proxy`), else the
 * socket's. Without an X-Forwarded-For header `req.ip` is the socket's address
 * whatever `trust proxy` says (proxy-addr has nothing else to pick from), so
 * the common case skips proxy-addr's parse; an `ip` the host's middleware
 * defined on the request itself is still honoured.
 */
export function clientIp(req: IncomingMessage): string {
  const socketIp = req.socket.remoteAddress;
  if (req.headers['x-forwarded-for'] === undefined && socketIp !== undefined && !Object.hasOwn(req, 'ip')) return socketIp;
  const ip = 'ip' in req ? req.ip : undefined;
  if (typeof ip === 'string' && ip !== '') return ip;
  return socketIp ?? 'unknown';
}
