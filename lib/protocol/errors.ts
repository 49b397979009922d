/**
 * The Bayeux error table. An error travels in a reply's `error` field as
 * `code:args:message` (Bayeux 1.0 §3.8): a three-digit code, comma-separated
 * arguments (usually the offending channel or field) and a short text. Codes
 * follow CometD where it defines one (`402::Unknown client`), Faye elsewhere.
 */
export const BAYEUX_ERRORS = {
  versionMismatch: { code: 300, message: 'Version mismatch' },
  connectionTypeMismatch: { code: 301, message: 'Connection types not supported' },
  missingParameter: { code: 400, message: 'Missing required parameter' },
  invalidParameter: { code: 400, message: 'Invalid parameter' },
  unknownClient: { code: 402, message: 'Unknown client' },
  handshakeDenied: { code: 403, message: 'Handshake denied' },
  publishDenied: { code: 403, message: 'Publish denied' },
  subscribeDenied: { code: 403, message: 'Subscribe denied' },
  forbiddenChannel: { code: 403, message: 'Forbidden channel' },
  userMismatch: { code: 403, message: 'Session belongs to another user' },
  unknownChannel: { code: 404, message: 'Unknown channel' },
  invalidChannel: { code: 405, message: 'Invalid channel' },
  serverError: { code: 500, message: 'Internal server error' },
  tooManySessions: { code: 503, message: 'Too many sessions' },
  tooManyHandshakes: { code: 503, message: 'Too many handshakes, retry later' },
  draining: { code: 503, message: 'This server is draining, retry elsewhere' },
  engineUnavailable: { code: 503, message: 'Service unavailable, retry later' },
  sessionOverflow: { code: 402, message: 'Session ended: message queue overflow (client too slow)' },
  sessionExpired: { code: 402, message: 'Session expired' },
  noHistory: { code: 400, message: 'Channel keeps no history: only -1 (new messages) can be replayed' },
  replayRefused: { code: 400, message: 'Replay position not available' },
  credentialsExpired: { code: 401, message: 'Credentials expired: handshake again to re-authenticate' },
  sessionRevoked: { code: 401, message: 'Session revoked: the user was signed out' },
  rateLimited: { code: 429, message: 'Rate limit exceeded: slow down' },
  serverClosed: { code: 402, message: 'Session ended: the server closed' },
} as const;

/** Name of an entry in the error table. */
export type BayeuxErrorName = keyof typeof BAYEUX_ERRORS;

/**
 * Formats an error from the table. `message` replaces the table's text, for
 * reasons given by an ACL or extension.
 */
export function bayeuxError(name: BayeuxErrorName, args: string | readonly string[] = '', message?: string): string {
  const entry = BAYEUX_ERRORS[name];
  const joined = ([] as string[]).concat(args).join(',');
  return `${entry.code}:${joined}:${message ?? entry.message}`;
}

/** A parsed `code:args:message` error string. */
export interface ParsedBayeuxError {
  code: number;
  args: string[];
  message: string;
}

/** Splits an error string; strings without a leading code get code 0. */
export function parseBayeuxError(error: string): ParsedBayeuxError {
  const match = /^(\d{3}):([^:]*):([\s\S]*)/.exec(error);
  if (match === null) return { code: 0, args: [], message: error };
  const args = match[2] === '' ? [] : (match[2] as string).split(',');
  return { code: Number(match[1]), args, message: match[3] as string };
}

/**
 * Thrown by a service handler, extension or ACL to refuse with a chosen Bayeux
 * error; any other thrown error is logged and answered with `500`.
 */
export class BayeuxError extends Error {
  /** Stable machine-readable code: `BAYEUX_ERROR`. */
  readonly code = 'BAYEUX_ERROR';
  /** The full `code:args:message` string put in the reply. */
  readonly bayeux: string;

  constructor(bayeux: string) {
    super(parseBayeuxError(bayeux).message);
    this.name = 'BayeuxError';
    this.bayeux = /^\d{3}:/.test(bayeux) ? bayeux : `400::${bayeux}`;
  }
}
