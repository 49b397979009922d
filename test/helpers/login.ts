/** A stand-in for the host's login: `x-user` names the user, unless the test signed them out. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BayeuxClient, ClientEvents } from '../../lib/client/index.js';
import { WAIT_MS } from './real-time.js';

export interface TestUser {
  id: string;
}

/** Middleware for Express and for upgrades; `signedOut` holds the ids the host has logged out. */
export function headerLogin(signedOut: Set<string>) {
  return (req: IncomingMessage, _res: ServerResponse, next: (err?: unknown) => void): void => {
    const id = req.headers['x-user'];
    if (typeof id === 'string' && !signedOut.has(id)) (req as IncomingMessage & { user?: TestUser }).user = { id };
    next();
  };
}

/** Resolves with the next `event` of a client; rejects after `ms` so a broken test fails instead of hanging. */
export function nextEvent<E extends keyof ClientEvents>(client: BayeuxClient, event: E, ms = WAIT_MS): Promise<ClientEvents[E]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for the client's "${String(event)}" event`));
    }, ms);
    const off = client.on(event, (...args: ClientEvents[E]) => {
      clearTimeout(timer);
      off();
      resolve(args);
    });
  });
}
