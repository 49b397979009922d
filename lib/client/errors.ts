/** The error every client promise rejects with and every `error` event carries. */
import { parseBayeuxError } from '../protocol/errors.js';
import type { Message } from '../protocol/message.js';

/** A refused or failed Bayeux request, with the server's error code (0 for network failures). */
export class BayeuxClientError extends Error {
  /** Bayeux error code from `code:args:message` (e.g. 402, 403), or 0 when the network failed. */
  readonly code: number;
  /** The error's arguments (often the channel). */
  readonly args: string[];
  /** The channel of the request that failed. */
  readonly channel: string | undefined;
  /** The server's reply, when there was one. */
  readonly reply: Message | undefined;

  constructor(message: string, code: number, options: { args?: string[]; channel?: string; reply?: Message; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BayeuxClientError';
    this.code = code;
    this.args = options.args ?? [];
    this.channel = options.channel;
    this.reply = options.reply;
  }

  /** The error a failed reply stands for. */
  static fromReply(reply: Message): BayeuxClientError {
    if (reply.error === undefined) return new BayeuxClientError(`${reply.channel} failed`, 0, { channel: reply.channel, reply });
    const { code, args, message } = parseBayeuxError(reply.error);
    return new BayeuxClientError(message, code, { args, channel: reply.channel, reply });
  }

  /** A network failure (no reply). */
  static network(channel: string | undefined, cause: unknown): BayeuxClientError {
    const why = cause instanceof Error ? cause.message : String(cause);
    return new BayeuxClientError(`network failure: ${why}`, 0, { ...(channel === undefined ? {} : { channel }), cause });
  }
}
