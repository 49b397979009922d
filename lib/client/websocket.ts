/**
 * Bayeux over one WebSocket: the browser's `WebSocket`, or `ws` in Node
 * versions without a global one (loaded only then, so bundles never need it).
 */
import type { Message } from '../protocol/message.js';
import type { ClientTransport, TransportSettings, TransportSink } from './transport.js';

/** The part of the WebSocket API the client uses (browsers and `ws` both have it). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'message', listener: (event: { data?: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code?: number }) => void): void;
  addEventListener(type: 'open' | 'error', listener: () => void): void;
}

/** A WebSocket constructor: `WebSocket` in browsers, `ws` in Node. */
export type WebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
  options?: { headers?: Record<string, string> },
) => WebSocketLike;

async function defaultWebSocket(): Promise<WebSocketConstructor> {
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global !== undefined) return global;
  const { WebSocket } = await import('ws');
  // ws overloads its constructor; this class has the one signature the client calls.
  return class NodeWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[], options?: { headers?: Record<string, string> }) {
      super(url, protocols, options);
    }
  };
}

export class WebSocketTransport implements ClientTransport {
  readonly name = 'websocket';
  /** Sent messages awaiting a reply, by id. */
  private readonly pending = new Map<string, { message: Message; timer: ReturnType<typeof setTimeout> }>();
  private closed = false;

  private constructor(
    private readonly socket: WebSocketLike,
    private readonly settings: TransportSettings,
    private readonly sink: TransportSink,
  ) {
    socket.addEventListener('message', (event) => {
      let messages: Message[];
      try {
        const parsed = JSON.parse(String(event.data)) as Message | Message[];
        messages = Array.isArray(parsed) ? parsed : [parsed];
      } catch {
        return;
      }
      for (const m of messages) {
        if (m.id === undefined || m.successful === undefined) continue;
        const entry = this.pending.get(String(m.id));
        if (entry !== undefined) {
          clearTimeout(entry.timer);
          this.pending.delete(String(m.id));
        }
      }
      if (!this.closed) this.sink.messages(messages);
    });
    socket.addEventListener('close', (event) => this.fail(new Error(`socket closed (${event.code ?? 'no code'})`)));
  }

  /**
   * Opens a socket to the endpoint; rejects when the upgrade fails or takes
   * longer than `timeout` ms (nobody answering upgrades must not hang the client).
   */
  static async open(
    settings: TransportSettings,
    sink: TransportSink,
    timeout: number,
    Ctor?: WebSocketConstructor,
  ): Promise<WebSocketTransport> {
    const WebSocketImpl = Ctor ?? (await defaultWebSocket());
    const url = settings.url.replace(/^http/, 'ws');
    const headers = { ...settings.cookies.header(), ...settings.headers };
    // Browsers take no headers argument (they send their own cookies).
    const socket = Object.keys(headers).length > 0 ? new WebSocketImpl(url, [], { headers }) : new WebSocketImpl(url);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`WebSocket did not open within ${timeout} ms`));
          socket.close();
        }, timeout);
        socket.addEventListener('open', () => resolve());
        socket.addEventListener('error', () => reject(new Error('WebSocket upgrade failed')));
        socket.addEventListener('close', (event) => reject(new Error(`WebSocket closed before opening (${event.code ?? 'no code'})`)));
      });
    } finally {
      clearTimeout(timer);
    }
    return new WebSocketTransport(socket, settings, sink);
  }

  /** Open and usable. */
  get usable(): boolean {
    return !this.closed && this.socket.readyState === 1;
  }

  send(messages: Message[]): void {
    if (!this.usable) {
      this.sink.failure(messages, new Error('socket not open'));
      return;
    }
    const deadline = this.settings.deadline(messages);
    for (const message of messages) {
      if (message.id === undefined) continue;
      const timer = setTimeout(() => {
        this.socket.close(4000, 'no reply in time');
        this.fail(new Error('no reply in time'));
      }, deadline);
      this.pending.set(String(message.id), { message, timer });
    }
    this.socket.send(JSON.stringify(messages));
  }

  private fail(error: Error): void {
    if (this.closed) return;
    this.closed = true;
    const lost = [...this.pending.values()];
    for (const entry of lost) clearTimeout(entry.timer);
    this.pending.clear();
    this.sink.failure(
      lost.map((e) => e.message),
      error,
    );
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const entry of this.pending.values()) clearTimeout(entry.timer);
    this.pending.clear();
    this.socket.close(1000, 'client closing');
  }
}
