/**
 * The floor: not a Bayeux server, the least any Node server must do to carry
 * the bench's fan-out, for reading the other rows against. Bare node:http and
 * `ws`, no express, no checks, no sessions beyond a map, no hold timers, no
 * extensions; a long-poll answer is one pre-built body written with one
 * writeHead + end, a WebSocket delivery one pre-framed buffer written to each
 * socket. What a real server costs above these rows is its own work; what
 * these rows cost is Node's HTTP layer, `ws` and the kernel's loopback TCP.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { profileOnSignal } from './profile.js';

profileOnSignal('floor');

interface Msg {
  channel: string;
  clientId?: string;
  subscription?: string;
  id?: string;
  advice?: { timeout?: number };
}

/** A client: its held poll (long-polling) or its socket (WebSocket), and what waits for the next poll. */
interface Client {
  poll: ServerResponse | undefined;
  socket: WebSocket | undefined;
  queue: string[];
}

const clients = new Map<string, Client>();
const channels = new Map<string, Client[]>();
let nextId = 0;

const CONNECTED = '{"channel":"/meta/connect","successful":true}';

function answer(res: ServerResponse, body: string): void {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** A WebSocket text frame, built once per broadcast (server frames are unmasked). */
function textFrame(payload: string): Buffer {
  const data = Buffer.from(payload);
  const n = data.length;
  const head = n < 126 ? Buffer.from([0x81, n]) : Buffer.from([0x81, 126, n >> 8, n & 0xff]);
  return Buffer.concat([head, data]);
}

function publish(message: Msg): void {
  const subscribers = channels.get(message.channel) ?? [];
  const json = JSON.stringify({ channel: message.channel, data: (message as { data?: unknown }).data });
  const polled = `[${json},${CONNECTED}]`;
  let frame: Buffer | undefined;
  for (const client of subscribers) {
    if (client.socket !== undefined) {
      frame ??= textFrame(`[${json}]`);
      // The socket ws wraps: the same bytes to every recipient.
      (Reflect.get(client.socket, '_socket') as Duplex).write(frame);
    } else if (client.poll !== undefined) {
      const res = client.poll;
      client.poll = undefined;
      answer(res, polled);
    } else {
      client.queue.push(json);
    }
  }
}

/** Handles one batch; returns the replies, or undefined when a poll is held. */
function handle(messages: Msg[], res: ServerResponse | undefined, socket: WebSocket | undefined): string[] | undefined {
  const replies: string[] = [];
  for (const m of messages) {
    const id = m.id === undefined ? '' : `,"id":${JSON.stringify(m.id)}`;
    const client = m.clientId === undefined ? undefined : clients.get(m.clientId);
    switch (m.channel) {
      case '/meta/handshake': {
        const clientId = String(++nextId);
        clients.set(clientId, { poll: undefined, socket, queue: [] });
        replies.push(
          `{"channel":"/meta/handshake","successful":true,"version":"1.0","supportedConnectionTypes":["long-polling","websocket"],"clientId":"${clientId}"${id}}`,
        );
        break;
      }
      case '/meta/subscribe': {
        if (client !== undefined && m.subscription !== undefined) {
          const list = channels.get(m.subscription) ?? [];
          list.push(client);
          channels.set(m.subscription, list);
        }
        replies.push(`{"channel":"/meta/subscribe","successful":true,"subscription":${JSON.stringify(m.subscription)}${id}}`);
        break;
      }
      case '/meta/connect': {
        // The first connect (timeout 0) answers at once; later ones wait for a message (on a socket, for ever).
        if (m.advice?.timeout === 0 || client === undefined) {
          replies.push(`{"channel":"/meta/connect","successful":true${id}}`);
        } else if (client.queue.length > 0) {
          replies.push(...client.queue.splice(0), `{"channel":"/meta/connect","successful":true${id}}`);
        } else if (socket === undefined) {
          client.poll = res;
          return undefined;
        }
        break;
      }
      default:
        publish(m);
        replies.push(`{"channel":${JSON.stringify(m.channel)},"successful":true${id}}`);
    }
  }
  return replies;
}

function onRequest(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const replies = handle(JSON.parse(Buffer.concat(chunks).toString()) as Msg[], res, undefined);
    if (replies !== undefined) answer(res, `[${replies.join(',')}]`);
  });
}

const http = createServer(onRequest);
new WebSocketServer({ server: http, path: '/cometd', perMessageDeflate: false }).on('connection', (ws) => {
  ws.on('message', (raw) => {
    const replies = handle(JSON.parse(String(raw)) as Msg[], undefined, ws);
    if (replies !== undefined && replies.length > 0) ws.send(`[${replies.join(',')}]`);
  });
});
http.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (http.address() as AddressInfo).port, path: '/cometd', websocket: true })}\n`);
});

process.on('SIGTERM', () => process.exit(0));
