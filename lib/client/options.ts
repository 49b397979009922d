/** Options of `new BayeuxClient(url, options)`, with their defaults. */
import type { Message } from '../protocol/message.js';
import type { ClientTransportName, CredentialsMode } from './transport.js';
import type { WebSocketConstructor } from './websocket.js';

/** Hooks on every message in and out; return null to drop the message. */
export interface ClientExtension {
  incoming?(message: Message): Message | null | undefined | Promise<Message | null | undefined>;
  outgoing?(message: Message): Message | null | undefined | Promise<Message | null | undefined>;
}

/** Options of `new BayeuxClient(url, options)`. */
export interface BayeuxClientOptions {
  /** Transports to use, in order of preference. Default `['websocket', 'long-polling']`. */
  transports?: ClientTransportName[];
  /** `ext` of the handshake (e.g. credentials). */
  ext?: Record<string, unknown>;
  /** Incoming/outgoing hooks, run in order. */
  extensions?: ClientExtension[];
  /** Ask for guaranteed delivery (CometD's ack extension). Default false. */
  ack?: boolean;
  /**
   * Retry delays after network failures: each drawn at random under a ceiling
   * that starts at `initial` and doubles up to `max` (ms; full jitter, so a
   * crowd of clients does not come back in step). Default 3000 and 30000.
   * `random` (default `Math.random`) is the source of the jitter: `() => 1`
   * waits the whole ceiling every time.
   */
  backoff?: { initial?: number; max?: number; random?: () => number };
  /** Extra HTTP headers (Node: long-polling requests and the upgrade). */
  headers?: Record<string, string>;
  /** fetch credentials mode. Default `include` (cookies go to a CORS server that allows them). */
  credentials?: CredentialsMode;
  /** Milliseconds added to the server's hold time before a request counts as lost. Default 10000. */
  maxNetworkDelay?: number;
  /** WebSocket constructor to use instead of the global one (or `ws` in Node). */
  WebSocket?: WebSocketConstructor;
  /** Milliseconds a WebSocket may take to open before the client falls back to long-polling. Default 5000. */
  webSocketTimeout?: number;
  /**
   * Milliseconds a publish, subscribe, unsubscribe or call may wait for its
   * reply (queued during an outage, or sent): then its promise rejects with
   * reason `timeout` and the request is forgotten. Default 30000.
   */
  requestTimeout?: number;
  /** Requests that may await their reply at once; one more rejects at once with reason `queue-full`. Default 1000. */
  maxQueued?: number;
  /**
   * Largest message (as JSON, in UTF-16 code units) the client sends; a larger
   * publish or call rejects at once with reason `too-large`, before it could
   * make the server close the WebSocket. Default 1048576 minus 1024 (the
   * server's default `maxBodySize`, with room for the envelope).
   */
  maxMessageSize?: number;
}

/** Options after defaults. */
export type ResolvedClientOptions = Required<Omit<BayeuxClientOptions, 'ext' | 'WebSocket' | 'backoff'>> & BayeuxClientOptions;

/** Applies the defaults; throws a TypeError naming an invalid option. */
export function resolveClientOptions(options: BayeuxClientOptions): ResolvedClientOptions {
  const resolved: ResolvedClientOptions = {
    transports: options.transports ?? ['websocket', 'long-polling'],
    extensions: options.extensions ?? [],
    ack: options.ack ?? false,
    headers: options.headers ?? {},
    credentials: options.credentials ?? 'include',
    maxNetworkDelay: options.maxNetworkDelay ?? 10_000,
    webSocketTimeout: options.webSocketTimeout ?? 5000,
    requestTimeout: options.requestTimeout ?? 30_000,
    maxQueued: options.maxQueued ?? 1000,
    maxMessageSize: options.maxMessageSize ?? 1024 * 1024 - 1024,
    ...(options.ext === undefined ? {} : { ext: options.ext }),
    ...(options.WebSocket === undefined ? {} : { WebSocket: options.WebSocket }),
  };
  for (const name of ['webSocketTimeout', 'requestTimeout', 'maxQueued', 'maxMessageSize'] as const) {
    const value = resolved[name];
    if (!(typeof value === 'number' && value > 0)) throw new TypeError(`BayeuxClient: option "${name}" must be a positive number`);
  }
  return resolved;
}

/** Runs the outgoing hooks on a batch, in order; a hook returning null drops its message. */
export async function runOutgoing(extensions: readonly ClientExtension[], batch: Message[]): Promise<Message[]> {
  if (extensions.length === 0) return batch;
  const out: Message[] = [];
  for (let message of batch) {
    for (const extension of extensions) {
      if (extension.outgoing === undefined) continue;
      const next = await extension.outgoing(message);
      if (next === null) break;
      if (next !== undefined) message = next;
    }
    out.push(message);
  }
  return out;
}

/** Runs the incoming hooks on a message, in order; null when one drops it. */
export async function runIncoming(extensions: readonly ClientExtension[], message: Message): Promise<Message | null> {
  let current = message;
  for (const extension of extensions) {
    if (extension.incoming === undefined) continue;
    const next = await extension.incoming(current);
    if (next === null) return null;
    if (next !== undefined) current = next;
  }
  return current;
}
