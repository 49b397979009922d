/** A minimal Bayeux client over one `ws` socket, for asserting exact wire behaviour. */
import { once } from 'node:events';
import WebSocket, { type ClientOptions } from 'ws';
import type { Message } from '../../lib/index.js';
import { realClearTimeout, realSetTimeout } from './real-time.js';

export class WsClient {
  readonly socket: WebSocket;
  clientId = '';
  /** Every message received, in order. */
  readonly received: Message[] = [];
  /** How many frames carried them. */
  frames = 0;
  closed: { code: number; reason: string } | undefined;
  private nextId = 0;
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data, binary) => {
      this.frames += 1;
      if (!binary) {
        try {
          const parsed = JSON.parse(String(data)) as Message | Message[];
          for (const m of Array.isArray(parsed) ? parsed : [parsed]) this.received.push(m);
        } catch {
          // Not Bayeux (e.g. another WebSocket server on the same port): counted as a frame only.
        }
      }
      this.settle();
    });
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      this.settle();
    });
    socket.on('error', () => {});
  }

  /** Opens a socket to an http:// endpoint URL; rejects with the refusal's status code. */
  static async open(url: string, options: ClientOptions & { protocols?: string[] } = {}): Promise<WsClient> {
    // A bound on the opening handshake: an upgrade nobody answers fails the test instead of hanging it.
    const socket = new WebSocket(url.replace(/^http/, 'ws'), options.protocols ?? [], { handshakeTimeout: 10_000, ...options });
    const client = new WsClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += String(chunk);
        });
        res.on('end', () =>
          reject(Object.assign(new Error(`upgrade refused: ${res.statusCode} ${body}`), { status: res.statusCode, body })),
        );
      });
      socket.once('error', reject);
    });
    return client;
  }

  private settle(): void {
    this.waiters = this.waiters.filter((w) => {
      if (!w.check()) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves when `check` holds after a frame or close; rejects after `ms`. */
  waitFor(check: () => boolean, what: string, ms = 5000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = realSetTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      this.waiters.push({
        check,
        resolve: () => {
          realClearTimeout(timer);
          resolve();
        },
      });
    });
  }

  id(): string {
    this.nextId += 1;
    return `w${this.nextId}`;
  }

  send(messages: Message | Message[]): void {
    this.socket.send(JSON.stringify(messages));
  }

  /** Sends one message and resolves with its reply (matched by id). */
  async request(message: Message): Promise<Message> {
    const id = message.id ?? this.id();
    this.send({ ...message, id });
    let reply: Message | undefined;
    await this.waitFor(() => {
      reply = this.received.find((m) => m.id === id && m.channel === message.channel);
      return reply !== undefined;
    }, `the reply to ${message.channel}`);
    return reply as Message;
  }

  async handshake(extra: Partial<Message> = {}): Promise<Message> {
    const reply = await this.request({ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['websocket'], ...extra });
    if (reply.successful === true) this.clientId = reply.clientId as string;
    return reply;
  }

  /** Sends a /meta/connect without waiting; returns its id. */
  connect(timeout?: number): string {
    const id = this.id();
    const message: Message = { channel: '/meta/connect', clientId: this.clientId, connectionType: 'websocket', id };
    if (timeout !== undefined) message.advice = { timeout };
    this.send(message);
    return id;
  }

  /** Resolves with the reply to the connect of that id. */
  async connected(id: string, ms = 5000): Promise<Message> {
    let reply: Message | undefined;
    await this.waitFor(
      () => {
        reply = this.received.find((m) => m.id === id);
        return reply !== undefined;
      },
      `connect ${id}`,
      ms,
    );
    return reply as Message;
  }

  subscribe(subscription: string | string[]): Promise<Message> {
    return this.request({ channel: '/meta/subscribe', clientId: this.clientId, subscription });
  }

  publish(channel: string, data: unknown): Promise<Message> {
    return this.request({ channel, clientId: this.clientId, data });
  }

  /** Deliveries received on a channel, in order. */
  on(channel: string): Message[] {
    return this.received.filter((m) => m.channel === channel && m.successful === undefined);
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    this.socket.close();
    await once(this.socket, 'close');
  }
}
