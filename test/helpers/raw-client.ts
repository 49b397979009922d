/** A minimal Bayeux client over fetch (or node:http), for asserting exact wire behaviour. */
import { request } from 'node:http';
import type { Message } from '../../lib/index.js';

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON body (undefined when not JSON). */
  body: unknown;
  /** The body as a message array (a single object is wrapped). */
  messages: Message[];
}

export async function rawPost(
  url: string,
  body: unknown,
  init: { contentType?: string; headers?: Record<string, string>; raw?: boolean } = {},
): Promise<RawResponse> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': init.contentType ?? 'application/json', ...init.headers },
    body: init.raw === true ? (body as string) : JSON.stringify(body),
  });
  return toRaw(res);
}

/**
 * POSTs with node:http instead of fetch. Tests under fake time (helpers/clock.ts)
 * use it: fetch keeps a timer of its own across tests, and one made under a
 * fake clock would later clear a fake timer of another test that got its id.
 */
function httpPost(url: string, body: string, headers: Record<string, string>): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const head = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) head.append(name, v);
        }
        resolve(parse(res.statusCode ?? 0, head, Buffer.concat(chunks).toString('utf8')));
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function toRaw(res: Response): Promise<RawResponse> {
  return parse(res.status, res.headers, await res.text());
}

function parse(status: number, headers: Headers, text: string): RawResponse {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const messages = Array.isArray(body) ? (body as Message[]) : body === undefined ? [] : [body as Message];
  return { status, headers, text, body, messages };
}

/** Speaks long-polling to one endpoint, as one client. */
export class RawClient {
  clientId = '';
  private nextId = 0;

  constructor(
    readonly url: string,
    readonly headers: Record<string, string> = {},
    /** 'http' under fake time (see httpPost). */
    readonly via: 'fetch' | 'http' = 'fetch',
  ) {}

  id(): string {
    this.nextId += 1;
    return String(this.nextId);
  }

  send(messages: Message | Message[], path = ''): Promise<RawResponse> {
    if (this.via === 'http') return httpPost(this.url + path, JSON.stringify(messages), this.headers);
    return rawPost(this.url + path, messages, { headers: this.headers });
  }

  /** Sends one message and returns the reply on its channel (asserting there is one). */
  async request(message: Message): Promise<Message> {
    const res = await this.send(message);
    const reply = res.messages.find((m) => m.channel === message.channel && (message.id === undefined || m.id === message.id));
    if (reply === undefined) throw new Error(`no reply to ${message.channel} in ${res.status} ${res.text}`);
    return reply;
  }

  async handshake(extra: Partial<Message> = {}): Promise<Message> {
    const reply = await this.request({
      channel: '/meta/handshake',
      version: '1.0',
      supportedConnectionTypes: ['long-polling', 'callback-polling'],
      id: this.id(),
      ...extra,
    });
    if (reply.successful === true) this.clientId = reply.clientId as string;
    return reply;
  }

  /** A /meta/connect; resolves with every message of the response. */
  async connect(timeout?: number): Promise<Message[]> {
    const message: Message = { channel: '/meta/connect', clientId: this.clientId, connectionType: 'long-polling', id: this.id() };
    if (timeout !== undefined) message.advice = { timeout };
    const res = await this.send(message);
    if (res.status !== 200) throw new Error(`connect answered ${res.status}: ${res.text}`);
    return res.messages;
  }

  subscribe(subscription: string | string[]): Promise<Message> {
    return this.request({ channel: '/meta/subscribe', clientId: this.clientId, subscription, id: this.id() });
  }

  unsubscribe(subscription: string | string[]): Promise<Message> {
    return this.request({ channel: '/meta/unsubscribe', clientId: this.clientId, subscription, id: this.id() });
  }

  publish(channel: string, data: unknown, extra: Partial<Message> = {}): Promise<Message> {
    return this.request({ channel, clientId: this.clientId, data, id: this.id(), ...extra });
  }

  disconnect(): Promise<Message> {
    return this.request({ channel: '/meta/disconnect', clientId: this.clientId, id: this.id() });
  }
}

/** Deliveries (non-meta messages without `successful`) in a response. */
export function deliveries(messages: Message[]): Message[] {
  return messages.filter((m) => !m.channel.startsWith('/meta/') && m.successful === undefined);
}
