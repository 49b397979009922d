/** Bayeux over HTTP POST with fetch: one request per batch, connects held by the server. */
import type { Message } from '../protocol/message.js';
import { type ClientTransport, failedReplies, type TransportSettings, type TransportSink } from './transport.js';

export class LongPollingTransport implements ClientTransport {
  readonly name = 'long-polling';
  private readonly inFlight = new Set<AbortController>();
  private closed = false;

  constructor(
    private readonly settings: TransportSettings,
    private readonly sink: TransportSink,
  ) {}

  send(messages: Message[]): void {
    const controller = new AbortController();
    this.inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(new Error('no reply in time')), this.settings.deadline(messages));
    this.post(messages, controller.signal)
      .then(
        (replies) => {
          if (!this.closed) this.sink.messages(replies);
        },
        (err: unknown) => {
          if (!this.closed) this.sink.failure(messages, controller.signal.aborted ? controller.signal.reason : err);
        },
      )
      .finally(() => {
        clearTimeout(timer);
        this.inFlight.delete(controller);
      });
  }

  private async post(messages: Message[], signal: AbortSignal): Promise<Message[]> {
    const res = await fetch(this.settings.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json;charset=UTF-8', ...this.settings.cookies.header(), ...this.settings.headers },
      body: JSON.stringify(messages),
      credentials: this.settings.credentials,
      signal,
    });
    this.settings.cookies.store(res.headers);
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (res.ok && Array.isArray(body)) return body as Message[];
    if (res.ok && body !== undefined && typeof body === 'object') return [body as Message];
    if (!res.ok && body !== undefined) return failedReplies(messages, body, res.status);
    throw new Error(`HTTP ${res.status} without Bayeux replies`);
  }

  close(): void {
    this.closed = true;
    for (const controller of this.inFlight) controller.abort(new Error('transport closed'));
    this.inFlight.clear();
  }
}
