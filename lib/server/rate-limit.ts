/**
 * Rate limits on what clients send: a token bucket per session and one per
 * client IP, taken from once per request (or frame) for all its messages, so
 * a batch costs one engine call (one Redis round trip with Redis) however
 * long it is. Polls (`/meta/connect`) are not counted: the server sets their
 * pace, and `clientMaxConnections` caps them. Nor is `/meta/disconnect`: a
 * refused one would keep the session (and its held poll) alive until expiry.
 */
import type { Engine } from '../engines/engine.js';
import type { RateBucket } from '../engines/token-bucket.js';
import { bayeuxError } from '../protocol/errors.js';
import { type Message, replyTo } from '../protocol/message.js';
import type { RateLimit } from './options/types.js';
import type { RequestState } from './request.js';

/** Which limit refused a message. */
export type RateLimitScope = 'session' | 'ip';

/** Longest back-off advised (ms): a client is never told to go away for long. */
const MAX_BACKOFF = 60_000;

/** What a request may send: its first `allowed` counted messages; the rest get `refuse()`. */
export interface Admission {
  allowed: number;
  scope: RateLimitScope;
  refuse(message: Message): Message;
}

function counts(message: Message): boolean {
  return message.channel !== '/meta/connect' && message.channel !== '/meta/disconnect';
}

export class RateLimiter<User = unknown> {
  constructor(
    private readonly engine: Engine<User>,
    private readonly limits: { session: Required<RateLimit> | undefined; ip: Required<RateLimit> | undefined },
    private readonly limited: (scope: RateLimitScope, refused: number) => void,
  ) {}

  /** Undefined when every message may go on; otherwise how many may and how to refuse the rest. */
  async admit(messages: readonly Message[], request: RequestState<User>): Promise<Admission | undefined> {
    let cost = 0;
    let clientId: string | undefined;
    for (const message of messages) {
      if (!counts(message)) continue;
      cost++;
      if (clientId === undefined && typeof message.clientId === 'string') clientId = message.clientId;
    }
    if (cost === 0) return undefined;
    const buckets: RateBucket[] = [];
    const scopes: RateLimitScope[] = [];
    const { session, ip } = this.limits;
    // Only a live session gets a bucket: made-up clientIds must not create state.
    if (session !== undefined && clientId !== undefined && (await request.session(this.engine, clientId)) !== undefined) {
      buckets.push({ key: `session:${clientId}`, ...session });
      scopes.push('session');
    }
    if (ip !== undefined) {
      buckets.push({ key: `ip:${request.ctx.ip}`, ...ip });
      scopes.push('ip');
    }
    if (buckets.length === 0) return undefined;
    const { granted, limitedBy } = await this.engine.takeTokens(buckets, cost, Date.now());
    if (granted >= cost) return undefined;
    const scope = scopes[limitedBy] ?? 'ip';
    const limit = (scope === 'session' ? session : ip) as Required<RateLimit>;
    const refused = cost - granted;
    this.limited(scope, refused);
    // Long enough for the bucket to hold what was refused again.
    const interval = Math.min(MAX_BACKOFF, Math.max(1000, Math.ceil((refused * 1000) / limit.rate)));
    const error = bayeuxError('rateLimited', [scope, `${limit.rate}/s`]);
    return {
      allowed: granted,
      scope,
      refuse(message: Message): Message {
        const reply = replyTo(message, false);
        reply.error = error;
        reply.advice = { reconnect: message.channel === '/meta/handshake' ? 'handshake' : 'retry', interval };
        if (typeof message.clientId === 'string') reply.clientId = message.clientId;
        if (message.channel === '/meta/subscribe' || message.channel === '/meta/unsubscribe') {
          reply.subscription = message.subscription as string | string[];
        }
        return reply;
      },
    };
  }

  /** True for messages a limit counts. */
  static counts(message: Message): boolean {
    return counts(message);
  }
}
