/**
 * The benchmark's load generator: minimal Bayeux clients over long-polling
 * (keep-alive HTTP, one cookie jar each) and WebSocket (`ws`). The same code
 * drives every server, so the generator costs the same whichever is measured.
 */
import { Agent, request } from 'node:http';
import WebSocket from 'ws';

export interface Msg {
  channel: string;
  clientId?: string;
  data?: { t: number; seq: number } | unknown;
  successful?: boolean;
  [key: string]: unknown;
}

/** Called for every delivery a client receives. */
export type OnDelivery = (message: Msg) => void;

const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

/** Failures the load generator saw, reported with each cell: a run with failures is not a clean run. */
export const failures = { connects: 0, requests: 0, polls: 0 };

export interface BenchClient {
  clientId: string;
  subscribe(channel: string): Promise<void>;
  publish(channel: string, data: unknown): Promise<void>;
  /** Starts the connect loop; deliveries go to `onDelivery`. */
  listen(onDelivery: OnDelivery): void;
  close(): void;
}

/** A long-polling client. */
export class LongPollClient implements BenchClient {
  clientId = '';
  /** Cookie jar: name -> value, sent back on every request. */
  private readonly cookies = new Map<string, string>();
  private cookie = '';
  private closed = false;
  private nextId = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly path: string,
  ) {}

  private post(messages: Msg[]): Promise<Msg[]> {
    return this.send(messages, this.path) as Promise<Msg[]>;
  }

  private send(value: unknown, path: string): Promise<unknown> {
    const body = JSON.stringify(value);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.host,
          port: this.port,
          path,
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            ...(this.cookie ? { cookie: this.cookie } : {}),
          },
        },
        (res) => {
          const set = res.headers['set-cookie'];
          if (set !== undefined) {
            for (const c of set) {
              const pair = c.split(';')[0] as string;
              const eq = pair.indexOf('=');
              this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
            }
            this.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
          }
          const chunks: Buffer[] = [];
          res.on('error', reject);
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString()) as unknown);
            } catch (err) {
              reject(err);
            }
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Logs in through the host app's own login route (JSON body), keeping its session cookie. */
  async login(path: string, username: string, password: string): Promise<void> {
    const reply = (await this.send({ username, password }, path)) as { username?: string };
    if (reply.username !== username) throw new Error(`login failed: ${JSON.stringify(reply)}`);
  }

  async handshake(): Promise<void> {
    const [reply] = await this.post([
      { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], id: String(++this.nextId) },
    ]);
    if (reply?.successful !== true) throw new Error(`handshake failed: ${JSON.stringify(reply)}`);
    this.clientId = reply.clientId as string;
    // First connect answers at once (CometD's and Faye's clients do this too).
    await this.post([
      {
        channel: '/meta/connect',
        clientId: this.clientId,
        connectionType: 'long-polling',
        id: String(++this.nextId),
        advice: { timeout: 0 },
      },
    ]);
  }

  async subscribe(channel: string): Promise<void> {
    const replies = await this.post([
      { channel: '/meta/subscribe', clientId: this.clientId, subscription: channel, id: String(++this.nextId) },
    ]);
    if (!replies.some((r) => r.channel === '/meta/subscribe' && r.successful === true))
      throw new Error(`subscribe failed: ${JSON.stringify(replies)}`);
  }

  async publish(channel: string, data: unknown): Promise<void> {
    await this.post([{ channel, clientId: this.clientId, data, id: String(++this.nextId) }]);
  }

  listen(onDelivery: OnDelivery): void {
    const loop = async (): Promise<void> => {
      while (!this.closed) {
        let replies: Msg[];
        try {
          replies = await this.post([
            { channel: '/meta/connect', clientId: this.clientId, connectionType: 'long-polling', id: String(++this.nextId) },
          ]);
        } catch {
          if (this.closed) return;
          failures.requests++;
          // A failing server is not hammered in a tight loop (it would burn its CPU on errors).
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        failures.polls++;
        if (!Array.isArray(replies) || replies.some((m) => m.channel === '/meta/connect' && m.successful === false)) {
          failures.connects++;
          await new Promise((r) => setTimeout(r, 100));
          if (!Array.isArray(replies)) continue;
        }
        for (const m of replies) if (!m.channel.startsWith('/meta/')) onDelivery(m);
      }
    };
    void loop();
  }

  close(): void {
    this.closed = true;
  }
}

/** A WebSocket client. */
export class WebSocketClient implements BenchClient {
  clientId = '';
  private readonly waiting = new Map<string, (m: Msg) => void>();
  private onDelivery: OnDelivery | undefined;
  private nextId = 0;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      for (const m of JSON.parse(String(raw)) as Msg[]) {
        if (m.channel === '/meta/connect' && m.successful !== undefined) {
          if (this.onDelivery !== undefined && m.successful === true) this.connect();
        }
        const id = m.id as string | undefined;
        if (m.successful !== undefined && id !== undefined && this.waiting.has(id)) {
          this.waiting.get(id)?.(m);
          this.waiting.delete(id);
        } else if (!m.channel.startsWith('/meta/') && m.successful === undefined) {
          this.onDelivery?.(m);
        }
      }
    });
    ws.on('error', () => {});
  }

  static async open(url: string): Promise<WebSocketClient> {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const client = new WebSocketClient(ws);
    await client.handshake();
    return client;
  }

  private request(message: Msg): Promise<Msg> {
    const id = String(++this.nextId);
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.ws.send(JSON.stringify([{ ...message, id }]));
    });
  }

  private async handshake(): Promise<void> {
    const reply = await this.request({ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['websocket'] });
    if (reply.successful !== true) throw new Error(`handshake failed: ${JSON.stringify(reply)}`);
    this.clientId = reply.clientId as string;
    await this.request({ channel: '/meta/connect', clientId: this.clientId, connectionType: 'websocket', advice: { timeout: 0 } });
  }

  async subscribe(channel: string): Promise<void> {
    const reply = await this.request({ channel: '/meta/subscribe', clientId: this.clientId, subscription: channel });
    if (reply.successful !== true) throw new Error(`subscribe failed: ${JSON.stringify(reply)}`);
  }

  async publish(channel: string, data: unknown): Promise<void> {
    await this.request({ channel, clientId: this.clientId, data });
  }

  private connect(): void {
    this.ws.send(
      JSON.stringify([{ channel: '/meta/connect', clientId: this.clientId, connectionType: 'websocket', id: String(++this.nextId) }]),
    );
  }

  listen(onDelivery: OnDelivery): void {
    this.onDelivery = onDelivery;
    this.connect();
  }

  close(): void {
    this.onDelivery = undefined;
    this.ws.terminate();
  }
}

/** Opens `count` clients, `concurrency` at a time. */
export async function openClients(count: number, open: () => Promise<BenchClient>, concurrency = 100): Promise<BenchClient[]> {
  const clients: BenchClient[] = [];
  for (let i = 0; i < count; i += concurrency) {
    const batch = await Promise.all(Array.from({ length: Math.min(concurrency, count - i) }, open));
    clients.push(...batch);
  }
  return clients;
}
