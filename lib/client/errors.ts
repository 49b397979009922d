/** The error every client promise rejects with and every `error` event carries. */
import { parseBayeuxError } from '../protocol/errors.js';
import type { Message } from '../protocol/message.js';

/**
 * Why a request failed: the server refused it (`refused`, with its Bayeux
 * `code`), the network failed (`network`), it had no answer within
 * `requestTimeout` (`timeout`), the outbox held `maxQueued` requests
 * (`queue-full`), the message was larger than `maxMessageSize` (`too-large`),
 * or the client stopped (`stopped`: `disconnect()`, or the server said
 * `reconnect: none`).
 */
export type ClientErrorReason = 'refused' | 'network' | 'timeout' | 'queue-full' | 'too-large' | 'stopped';

/** A refused or failed Bayeux request, with the server's error code (0 when the server did not answer). */
export class BayeuxClientError extends Error {
  /** Bayeux error code from `code:args:message` (e.g. 402, 403), or 0 when the server did not answer. */
  readonly code: number;
  /** Why it failed, whatever the server's code. */
  readonly reason: ClientErrorReason;
  /** The error's arguments (often the channel). */
  readonly args: string[];
  /** The channel of the request that failed. */
  readonly channel: string | undefined;
  /** The server's reply, when there was one. */
  readonly reply: Message | undefined;

  constructor(
    message: string,
    code: number,
    options: { args?: string[]; channel?: string; reply?: Message; cause?: unknown; reason?: ClientErrorReason } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BayeuxClientError';
    this.code = code;
    this.reason = options.reason ?? (code === 0 ? 'network' : 'refused');
    this.args = options.args ?? [];
    this.channel = options.channel;
    this.reply = options.reply;
  }

  /** The error a failed reply stands for. */
  static fromReply(reply: Message): BayeuxClientError {
    if (reply.error === undefined)
      return new BayeuxClientError(`${reply.channel} failed`, 0, { channel: reply.channel, reply, reason: 'refused' });
    const { code, args, message } = parseBayeuxError(reply.error);
    return new BayeuxClientError(message, code, { args, channel: reply.channel, reply, reason: 'refused' });
  }

  /** A network failure (no reply). */
  static network(channel: string | undefined, cause: unknown): BayeuxClientError {
    const why = cause instanceof Error ? cause.message : String(cause);
    return new BayeuxClientError(`network failure: ${why}`, 0, { ...(channel === undefined ? {} : { channel }), cause });
  }

  /** A failure of the client's own bounds (`timeout`, `queue-full`, `too-large`) or of a stopped client. */
  static local(reason: Exclude<ClientErrorReason, 'refused' | 'network'>, message: string, channel?: string): BayeuxClientError {
    return new BayeuxClientError(message, 0, { reason, ...(channel === undefined ? {} : { channel }) });
  }
}
