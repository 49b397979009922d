/** The client address every per-IP limit and log line uses. */
import type { IncomingMessage } from 'node:http';

/** Client address: Express's `req.ip` (which honours `trust proxy`), else the socket's. */
export function clientIp(req: IncomingMessage): string {
  const ip = 'ip' in req ? req.ip : undefined;
  if (typeof ip === 'string' && ip !== '') return ip;
  return req.socket.remoteAddress ?? 'unknown';
}
