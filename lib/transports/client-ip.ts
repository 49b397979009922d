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

/**
 * The warning for a request refused by the per-IP cap. When the request
 * carries X-Forwarded-For but its address is still the socket's, a proxy is
 * in front and `trust proxy` is not set: every client behind it shares the
 * proxy's address, and the message says so.
 */
export function overCapWarning(req: IncomingMessage, ip: string, what: string): string {
  const warning = `express-bayeux: too many ${what} from one IP (${ip}); answered 503`;
  if (req.headers['x-forwarded-for'] === undefined || ip !== req.socket.remoteAddress) return warning;
  return `${warning}. The request came through a proxy (X-Forwarded-For) that Express does not trust, so every client behind it counts as ${ip}: set app.set('trust proxy', <hops or addresses>) (README: Behind a proxy)`;
}
