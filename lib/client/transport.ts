/** What the client needs of a transport: send batches, hear replies and failures. */
import type { Message } from '../protocol/message.js';

/** fetch's credentials mode (declared here: the DOM types are not part of this build). */
export type CredentialsMode = 'omit' | 'same-origin' | 'include';

/** The transports the client speaks. */
export type ClientTransportName = 'websocket' | 'long-polling';

/** Where a transport reports what happened to what it sent. */
export interface TransportSink {
  /** Messages from the server: replies and deliveries, in order. */
  messages(messages: Message[]): void;
  /** These messages got no reply (network failure, timeout, closed socket). */
  failure(sent: Message[], error: unknown): void;
}

/** One way to exchange Bayeux messages with the server. */
export interface ClientTransport {
  readonly name: ClientTransportName;
  /** Sends a batch; the outcome reaches the sink. */
  send(messages: Message[]): void;
  /** Stops: in-flight requests are dropped without reports. */
  close(): void;
}

/**
 * Cookies the server sets, kept for the next requests outside browsers (fetch
 * in Node has no cookie jar; CometD's server ties sessions to its
 * BAYEUX_BROWSER cookie). Browsers keep cookies themselves and hide
 * Set-Cookie, so there this stays empty.
 */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(headers: Headers): void {
    const list = typeof headers.getSetCookie === 'function' ? headers.getSetCookie() : [];
    for (const line of list) {
      const pair = line.split(';', 1)[0] ?? '';
      const eq = pair.indexOf('=');
      if (eq > 0) this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }

  /** The Cookie header to send, if any. */
  header(): Record<string, string> {
    if (this.cookies.size === 0) return {};
    return { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') };
  }
}

/** Settings every transport shares. */
export interface TransportSettings {
  url: string;
  cookies: CookieJar;
  headers: Record<string, string>;
  credentials: CredentialsMode;
  /** Milliseconds to wait for the reply to this batch before calling it lost. */
  deadline(messages: Message[]): number;
}

/** Failed replies standing for an HTTP error body `{ error, advice }` sent instead of replies. */
export function failedReplies(sent: Message[], body: unknown, status: number): Message[] {
  const error = body as { error?: unknown; advice?: unknown } | undefined;
  const text = typeof error?.error === 'string' ? error.error : `${status}::HTTP ${status}`;
  return sent.map((m) => {
    const reply: Message = { channel: m.channel, successful: false, error: text };
    if (m.id !== undefined) reply.id = m.id;
    if (typeof error?.advice === 'object' && error.advice !== null) reply.advice = error.advice as Message['advice'];
    return reply;
  });
}
