/**
 * The benchmark's load generator: minimal Bayeux clients over long-polling
 * (keep-alive HTTP through undici, one cookie jar each) and WebSocket (`ws`).
 * The same code drives every server, so the generator costs the same whichever
 * is measured. undici rather than node:http: with node:http's `request()` the
 * generator sat at a full core from 1,000 long-polling subscribers up, so those
 * cells measured the generator, not the servers.
 */
import { Client } from 'undici';
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

/**
 * The connections to one origin (host:port), shared by every long-polling
 * client of that origin: undici `Client`s, one socket each, pipelining 1 (a
 * request never waits on a socket behind a held long-poll), as many as are
 * busy at once (each held long-poll keeps its socket for up to the server's
 * hold time, so 5,000 subscribers need about 5,000). A request takes the most
 * recently freed one, or opens a new one.
 *
 * Not undici's `Pool`: its dispatch looks for a free Client by scanning all of
 * them, twice per request with pipelining 1 (about 4 µs a scan at 1,000
 * Clients, 20 µs at 5,000). At 1,000 subscribers that scan was a tenth of the
 * generator's CPU, and it grows with the subscribers squared per second.
 */
class Origin {
  /** Clients whose last request is answered, most recently freed last. */
  private readonly idle: Client[] = [];
  private readonly all = new Set<Client>();
  private busy = 0;
  private closed = false;

  constructor(private readonly url: string) {}

  /** No request in flight: the origin can be closed without failing one. */
  get quiet(): boolean {
    return this.busy === 0;
  }

  async post(path: string, headers: Record<string, string>, body: string): Promise<{ headers: Headers; text: string }> {
    let client = this.idle.pop();
    if (client === undefined) {
      client = new Client(this.url, { pipelining: 1 });
      this.all.add(client);
    }
    this.busy++;
    const c = client;
    // undici's dispatch with a plain handler: request()'s body stream and its promise layers cost the generator 15-20 %.
    try {
      const reply = await new Promise<{ headers: Headers; text: string }>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const replyHeaders: Headers = {};
        c.dispatch(
          { origin: this.url, path, method: 'POST', headers, body },
          {
            onConnect: () => {},
            onHeaders: (_status, raw) => {
              for (let i = 0; i < raw.length; i += 2) {
                if (String(raw[i]).toLowerCase() !== 'set-cookie') continue;
                const value = String(raw[i + 1]);
                const had = replyHeaders['set-cookie'];
                replyHeaders['set-cookie'] = had === undefined ? [value] : [...had, value];
              }
              return true;
            },
            onData: (chunk) => {
              chunks.push(chunk);
              return true;
            },
            onComplete: () => resolve({ headers: replyHeaders, text: Buffer.concat(chunks).toString() }),
            onError: reject,
          },
        );
      });
      this.busy--;
      if (!this.closed) {
        this.idle.push(c);
      } else {
        this.all.delete(c);
        c.close().catch(() => {});
      }
      return reply;
    } catch (err) {
      // A failed connection is not lent again (undici would reconnect it, but a reset usually means a dead server).
      this.busy--;
      this.all.delete(c);
      c.destroy().catch(() => {});
      throw err;
    }
  }

  /** Closes the idle connections now and the busy ones once they are answered. */
  close(): void {
    this.closed = true;
    for (const client of this.idle.splice(0)) {
      this.all.delete(client);
      client.close().catch(() => {});
    }
  }

  /** Drops every connection at once; held requests fail. */
  async destroy(): Promise<void> {
    this.closed = true;
    this.idle.length = 0;
    const all = [...this.all];
    this.all.clear();
    await Promise.allSettled(all.map((c) => c.destroy()));
  }
}

type Headers = Record<string, string | string[] | undefined>;

/**
 * Clients look their origin up on every request, so an origin can be closed at
 * any time without stranding a client: its next request opens a new one. An
 * origin is closed when the last client of it closes, and, when a new origin
 * is opened, any other origin with no request in flight (the bench restarts
 * its servers on a new port for each run, so a dead server's connections would
 * otherwise stay for the process's life).
 */
const origins = new Map<string, Origin>();
/** Long-polling clients per origin that are not closed yet. */
const users = new Map<string, number>();

function originFor(url: string): Origin {
  let origin = origins.get(url);
  if (origin === undefined) {
    for (const [other, o] of origins) if (o.quiet) closeOrigin(other);
    origin = new Origin(url);
    origins.set(url, origin);
  }
  return origin;
}

function closeOrigin(url: string): void {
  origins.get(url)?.close();
  origins.delete(url);
}

/**
 * Drops every long-polling connection at once (held long-polls fail; their
 * clients should be closed first). Idle connections end by themselves after
 * undici's keep-alive timeout, but held long-polls would keep the process alive.
 */
export async function closeAgents(): Promise<void> {
  const all = [...origins.values()];
  origins.clear();
  users.clear();
  await Promise.allSettled(all.map((o) => o.destroy()));
}

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
  private readonly origin: string;

  constructor(
    host: string,
    port: number,
    private readonly path: string,
  ) {
    this.origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    users.set(this.origin, (users.get(this.origin) ?? 0) + 1);
  }

  private post(messages: Msg[]): Promise<Msg[]> {
    return this.send(messages, this.path) as Promise<Msg[]>;
  }

  private async send(value: unknown, path: string): Promise<unknown> {
    const { headers, text } = await originFor(this.origin).post(
      path,
      { 'content-type': 'application/json', ...(this.cookie ? { cookie: this.cookie } : {}) },
      JSON.stringify(value),
    );
    const set = headers['set-cookie'];
    if (set !== undefined) {
      for (const c of typeof set === 'string' ? [set] : set) {
        const pair = c.split(';')[0] as string;
        const eq = pair.indexOf('=');
        this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
      this.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    }
    return JSON.parse(text) as unknown;
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

  /** Stops the connect loop; the last client of its origin closes the origin's connections. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const left = (users.get(this.origin) ?? 1) - 1;
    if (left > 0) {
      users.set(this.origin, left);
    } else {
      users.delete(this.origin);
      closeOrigin(this.origin);
    }
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
