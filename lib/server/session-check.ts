/**
 * The check every message but a handshake passes first: its clientId names
 * a live session bound to the same user as the request. Refusals tell the
 * client to handshake again.
 */
import type { Logger } from '../engines/logger.js';
import type { Session } from '../engines/session.js';
import { handshakeAdvice } from '../protocol/advice.js';
import { bayeuxError } from '../protocol/errors.js';
import { type Message, replyTo } from '../protocol/message.js';
import type { RequestState } from './request.js';

/** The refusal of a message for its session, with advice to handshake again. */
export function sessionError(message: Message, error: string, interval: number): Message {
  const reply = replyTo(message, false);
  reply.error = error;
  reply.advice = handshakeAdvice(interval);
  if (typeof message.clientId === 'string') reply.clientId = message.clientId;
  if (message.channel === '/meta/subscribe' || message.channel === '/meta/unsubscribe') {
    reply.subscription = message.subscription as string | string[];
  }
  return reply;
}

export class SessionCheck {
  /** The `useOnUpgrade` hint is logged once per server, then refusals are debug lines. */
  private hintedUpgrade = false;

  constructor(
    private readonly logger: Logger,
    private readonly timing: { readonly interval: number; readonly maxInterval: number },
  ) {}

  /** The refusal for a message whose clientId is unknown or belongs to another user; undefined when it may go on. */
  refusal(message: Message, session: Session | undefined, request: RequestState<unknown>): Message | undefined {
    if (session === undefined) return sessionError(message, bayeuxError('unknownClient'), this.timing.interval);
    if (session.userKey !== request.userKey) {
      this.logMismatch(session, request);
      return sessionError(message, bayeuxError('userMismatch'), this.timing.interval);
    }
    session.lastSeen = Date.now();
    return undefined;
  }

  /**
   * A logged-in session refused on a login-less socket from the same address
   * soon after its handshake is the forgotten `useOnUpgrade`, not a hijack: say so.
   */
  private logMismatch(session: Session, request: RequestState<unknown>): void {
    const ctx = request.ctx;
    const fields = { clientId: session.id, ip: ctx.ip, transport: ctx.transport };
    const forgot =
      ctx.transport === 'websocket' &&
      request.userKey === undefined &&
      session.ip === ctx.ip &&
      Date.now() - session.createdAt < Math.max(60_000, this.timing.maxInterval);
    if (!forgot) {
      this.logger.warn(fields, 'express-bayeux: clientId presented by another user; refused');
      return;
    }
    const text =
      'express-bayeux: a WebSocket arrived without the login its session was made with: upgrade requests do not run your app middleware. ' +
      'Call server.useOnUpgrade(sessionMiddleware, passport.session()) so req.user reaches WebSocket too (clients fall back to long-polling meanwhile)';
    if (this.hintedUpgrade) this.logger.debug(fields, text);
    else this.logger.warn(fields, text);
    this.hintedUpgrade = true;
  }
}
