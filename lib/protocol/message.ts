/**
 * Bayeux messages as they travel on the wire, and the checks a decoded JSON
 * value must pass before the server looks at it. Pure: no I/O.
 */

/** `advice` (Bayeux 1.0 §3.5): how a client should reconnect. */
export interface Advice {
  reconnect?: 'retry' | 'handshake' | 'none';
  /** Milliseconds the server holds a `/meta/connect`. */
  timeout?: number;
  /** Milliseconds a client waits between a connect reply and its next connect. */
  interval?: number;
  /** Milliseconds a session survives without a connect. */
  maxInterval?: number;
  [key: string]: unknown;
}

/** Any Bayeux message: request, reply or delivered event. */
export interface Message {
  channel: string;
  /** Echoed in the reply; Bayeux says string, some clients send numbers. */
  id?: string | number;
  clientId?: string;
  data?: unknown;
  ext?: Record<string, unknown>;
  advice?: Advice;
  successful?: boolean;
  error?: string;
  version?: string;
  minimumVersion?: string;
  supportedConnectionTypes?: string[];
  connectionType?: string;
  subscription?: string | string[];
  timestamp?: string;
  authSuccessful?: boolean;
  [key: string]: unknown;
}

/** Why a decoded value is not a list of messages; becomes an HTTP 400. */
export class InvalidMessagesError extends Error {
  /** Stable machine-readable code. */
  readonly code = 'BAYEUX_INVALID_MESSAGES';
}

/** A JSON object: not null, not an array. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks that `value` (decoded JSON) is one message or an array of them, and
 * that every message has a string channel. Field-level problems (a bad
 * `subscription`, a missing `clientId`) are left to the handlers, which answer
 * them with a Bayeux error for that message alone.
 */
export function toMessages(value: unknown, maxMessages: number): Message[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new InvalidMessagesError('the request holds no messages');
  if (list.length > maxMessages) {
    throw new InvalidMessagesError(`the request holds ${list.length} messages, more than the limit of ${maxMessages}`);
  }
  for (let i = 0; i < list.length; i++) {
    const message: unknown = list[i];
    if (!isPlainObject(message)) {
      throw new InvalidMessagesError(`message ${i} is not an object`);
    }
    if (typeof message.channel !== 'string') {
      throw new InvalidMessagesError(`message ${i} has no string "channel"`);
    }
    if (message.id !== undefined && typeof message.id !== 'string' && typeof message.id !== 'number') {
      throw new InvalidMessagesError(`message ${i} has an "id" that is neither a string nor a number`);
    }
  }
  return list as Message[];
}

/** The `ext` object of a message, or undefined when absent or not an object. */
export function extOf(message: Message): Record<string, unknown> | undefined {
  return isPlainObject(message.ext) ? message.ext : undefined;
}

/**
 * Subscription channels of a subscribe/unsubscribe request: a string or an
 * array of strings. Undefined when missing or of another type.
 */
export function subscriptionsOf(message: Message): string[] | undefined {
  const value = message.subscription;
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')) {
    return value;
  }
  return undefined;
}

/** A reply skeleton for `message`: its channel and, when it had one, its id. */
export function replyTo(message: Message, successful: boolean): Message {
  const reply: Message = { channel: message.channel, successful };
  if (message.id !== undefined) reply.id = message.id;
  return reply;
}
