/**
 * Credential expiry: the `sessionExpiry` hook turns what a handshake presents
 * (a JWT's `exp`, a cookie's max age) into the time its session ends.
 */
import type { ClientInfo } from '../engines/session.js';
import { bayeuxError } from '../protocol/errors.js';
import type { Message } from '../protocol/message.js';
import type { RequestContext, SessionExpiry } from './options/types.js';

/** Below this, a number is far more likely seconds (a JWT `exp`) than milliseconds: 1e11 ms is March 1973. */
const SECONDS_LIKELY = 1e11;

/** What the hook decided: an expiry, or the error that refuses the handshake. */
export type ExpiryVerdict = { expiresAt: number | undefined; error?: undefined } | { expiresAt?: undefined; error: string };

/** Runs the hook and checks its answer; a likely unit mistake is refused with a message naming the fix. */
export async function sessionExpiry<User>(
  hook: SessionExpiry<User> | undefined,
  client: ClientInfo<User>,
  message: Message,
  ctx: RequestContext<User>,
  now: number,
): Promise<ExpiryVerdict> {
  if (hook === undefined) return { expiresAt: undefined };
  const value = await hook(client, message, ctx);
  if (value === undefined) return { expiresAt: undefined };
  const at = value instanceof Date ? value.getTime() : value;
  if (typeof at !== 'number' || !Number.isFinite(at)) {
    throw new TypeError(`sessionExpiry must return a Date, milliseconds since the epoch or undefined; got ${String(value)}`);
  }
  if (at < SECONDS_LIKELY) {
    throw new TypeError(`sessionExpiry returned ${at}, which looks like seconds since the epoch: return milliseconds (e.g. exp * 1000)`);
  }
  if (at <= now) return { error: bayeuxError('credentialsExpired', 'expired') };
  return { expiresAt: at };
}
