/**
 * The example app behind a real nginx, configured with the README's own
 * "Behind a proxy" block: CometD's and Faye's clients over long-polling and
 * WebSocket, a held /meta/connect against the proxy's read timeout, and the
 * client address from X-Forwarded-For with `trust proxy`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CometD, type Message as CometDMessage } from 'cometd';
import { adapt } from 'cometd-nodejs-client';
import faye from 'faye';
import { WebSocket } from 'ws';
import { createChatApp } from '../../example/app.js';
import type { ConnectEvent, Message } from '../../lib/index.js';
import { type Nginx, nginxMissing, startNginx } from '../helpers/nginx.js';
import { bounded, callback, until } from '../helpers/server.js';

adapt();

const missing = nginxMissing();
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The README's nginx block, pointed at `upstream`, listening where the helper says, with `readTimeout` if given. */
function readmeConfig(upstream: number, readTimeout?: string): string {
  const section = readme.slice(readme.indexOf('### Behind a proxy'));
  const block = /```nginx\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block !== undefined, 'the README has an nginx block under "Behind a proxy"');
  const edits: [RegExp, string][] = [
    [/listen 80;/, 'listen 127.0.0.1:{{port}};'],
    [/server 127\.0\.0\.1:8080;/, `server 127.0.0.1:${upstream};`],
  ];
  if (readTimeout !== undefined) edits.push([/proxy_read_timeout \S+;/, `proxy_read_timeout ${readTimeout};`]);
  return edits.reduce((conf, [pattern, value]) => {
    assert.match(conf, pattern, `the README's nginx block has ${pattern}`);
    return conf.replace(pattern, value);
  }, block);
}

interface Stack {
  chat: ReturnType<typeof createChatApp>;
  nginx: Nginx;
  /** The Bayeux endpoint through nginx. */
  url: string;
  close(): Promise<void>;
}

/** The example app on a port of its own with nginx in front. */
async function stack(options: { timeout?: number; readTimeout?: string } = {}): Promise<Stack> {
  const chat = createChatApp({
    logger: false,
    sessionSecret: 'proxy',
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
  });
  // One nginx in front: trust one hop of X-Forwarded-For, as the README says.
  chat.app.set('trust proxy', 1);
  const http = createServer(chat.app);
  chat.server.attach(http, { app: chat.app });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const closeApp = async (): Promise<void> => {
    try {
      await chat.server.close();
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  };
  let nginx: Nginx;
  try {
    nginx = await startNginx(readmeConfig((http.address() as AddressInfo).port, options.readTimeout));
  } catch (err) {
    await closeApp();
    throw err;
  }
  return {
    chat,
    nginx,
    url: `http://127.0.0.1:${nginx.port}/cometd`,
    async close() {
      try {
        await closeApp();
      } finally {
        await nginx.stop();
      }
    },
  };
}

/** POSTs Bayeux messages through nginx, from `localAddress`, with extra headers. */
function post(url: string, messages: Message[], options: { localAddress?: string; headers?: Record<string, string> } = {}) {
  return new Promise<{ status: number; messages: Message[]; text: string }>((resolve, reject) => {
    const body = JSON.stringify(messages);
    const req = request(
      url,
      {
        method: 'POST',
        agent: false,
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
        headers: { 'content-type': 'application/json', ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          const status = res.statusCode ?? 0;
          resolve({ status, text, messages: status === 200 ? (JSON.parse(text) as Message[]) : [] });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function handshake(url: string): Promise<string> {
  const [reply] = (await post(url, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }])).messages;
  assert.equal(reply?.successful, true, JSON.stringify(reply));
  return reply.clientId as string;
}

/** A /meta/connect; `timeout` 0 asks for an answer at once (a first connect). */
function connect(url: string, clientId: string, timeout?: number) {
  const message: Message = { channel: '/meta/connect', clientId, connectionType: 'long-polling' };
  if (timeout !== undefined) message.advice = { timeout };
  return post(url, [message]);
}

describe('the example app behind nginx (the README configuration)', { skip: missing }, () => {
  let proxied: Stack;
  before(async () => {
    proxied = await stack();
  });
  after(() => proxied.close());

  for (const transport of ['long-polling', 'websocket'] as const) {
    it(`lets a CometD client read the chat and call /service/echo over ${transport}`, async () => {
      const cometd = new CometD();
      if (transport === 'long-polling') cometd.unregisterTransport('websocket');
      cometd.configure({ url: proxied.url, logLevel: 'warn' });
      try {
        const hs = await callback<CometDMessage>((done) => cometd.handshake({ ext: { name: 'cometd' } }, done), 'the handshake');
        assert.equal(hs.successful, true);
        assert.equal(cometd.getTransport()?.type, transport);
        const seen: unknown[] = [];
        await callback<CometDMessage>((done) => cometd.subscribe('/chat/demo', (m) => seen.push(m.data), done), 'the subscribe');
        await proxied.chat.server.publish('/chat/demo', { user: 'server', text: `hello ${transport}` });
        await until(() => seen.length >= 1, 'the chat message');
        assert.deepEqual(seen[0], { user: 'server', text: `hello ${transport}` });
        const echo = await callback<CometDMessage>((done) => cometd.remoteCall('echo', { ping: transport }, 5000, done), 'the echo');
        assert.deepEqual(echo.data, { ping: transport });
      } finally {
        await callback((done) => cometd.disconnect(done), 'the disconnect');
      }
    });

    it(`lets a Faye client read the chat over ${transport}`, async () => {
      const client = new faye.Client(proxied.url, { timeout: 5 });
      client.disable('autodisconnect');
      if (transport === 'long-polling') client.disable('websocket');
      try {
        const seen: unknown[] = [];
        await bounded(Promise.resolve(client.subscribe('/chat/demo', (data) => seen.push(data))), 'the Faye subscribe');
        await until(() => client._dispatcher.connectionType === transport, `Faye on ${transport}`);
        await proxied.chat.server.publish('/chat/demo', { user: 'server', text: `hi faye ${transport}` });
        await until(() => seen.length >= 1, 'the chat message');
        assert.deepEqual(seen[0], { user: 'server', text: `hi faye ${transport}` });
      } finally {
        client.disconnect();
      }
      await until(async () => (await proxied.chat.server.stats()).sessions === 0, 'the Faye session to end');
    });
  }

  it("gives the server the client's address from X-Forwarded-For (trust proxy 1), not a forged one", async () => {
    const seen: ConnectEvent[] = [];
    const onConnect = (event: ConnectEvent): number => seen.push(event);
    proxied.chat.server.on('connect', onConnect);
    try {
      // The client connects from 127.0.0.2 (nginx sees that), the app only ever sees nginx at 127.0.0.1,
      // and the client claims to be 203.0.113.7: one trusted hop keeps what nginx saw.
      const forged = { 'x-forwarded-for': '203.0.113.7' };
      const from = { localAddress: '127.0.0.2', headers: forged };
      const handshakeMessage = { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling', 'websocket'] };
      // A session is announced (`connect` event) at its first /meta/connect, with the handshake's address.
      const connectMessage = (clientId: unknown, connectionType: string): Message => ({
        channel: '/meta/connect',
        clientId: String(clientId),
        connectionType,
        advice: { timeout: 0 },
      });
      const lp = await post(proxied.url, [handshakeMessage], from);
      assert.equal(lp.messages[0]?.successful, true, lp.text);
      assert.equal((await post(proxied.url, [connectMessage(lp.messages[0]?.clientId, 'long-polling')], from)).status, 200);
      const ws = new WebSocket(proxied.url.replace('http:', 'ws:'), from);
      const replies: Message[][] = [];
      ws.on('message', (data) => replies.push(JSON.parse(String(data)) as Message[]));
      try {
        await bounded(new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)), 'the WebSocket through nginx');
        ws.send(JSON.stringify([handshakeMessage]));
        await until(() => replies.length === 1, 'the WebSocket handshake reply');
        const hs = replies[0]?.[0];
        assert.equal(hs?.successful, true, JSON.stringify(hs));
        ws.send(JSON.stringify([connectMessage(hs?.clientId, 'websocket')]));
        await until(() => seen.length === 2, 'both sessions announced');
      } finally {
        ws.close();
      }
      assert.deepEqual(
        seen.map((e) => [e.transport, e.ip]),
        [
          ['long-polling', '127.0.0.2'],
          ['websocket', '127.0.0.2'],
        ],
      );
    } finally {
      proxied.chat.server.off('connect', onConnect);
    }
  });
});

describe("a held /meta/connect against nginx's read timeout", { skip: missing }, () => {
  it('is answered by the server when its timeout is shorter than proxy_read_timeout, poll after poll', async () => {
    // The README's rule scaled down: server timeout 1 s under a 3 s proxy_read_timeout (30 s under 75 s).
    const proxied = await stack({ timeout: 1000, readTimeout: '3s' });
    try {
      const clientId = await handshake(proxied.url);
      assert.equal((await connect(proxied.url, clientId, 0)).status, 200);
      // Held for the server's timeout and answered by it, through nginx: the session outlives the read timeout.
      for (let i = 0; i < 4; i++) {
        const held = await connect(proxied.url, clientId);
        assert.equal(held.status, 200, held.text);
        assert.equal(held.messages.find((m) => m.channel === '/meta/connect')?.successful, true, held.text);
      }
    } finally {
      await proxied.close();
    }
  });

  it('gets a 504 from nginx when the server holds it longer than proxy_read_timeout (the misconfiguration)', async () => {
    const proxied = await stack({ timeout: 5000, readTimeout: '1s' });
    try {
      const clientId = await handshake(proxied.url);
      assert.equal((await connect(proxied.url, clientId, 0)).status, 200);
      const held = await connect(proxied.url, clientId);
      assert.equal(held.status, 504, held.text);
      assert.match(await proxied.nginx.errors(), /upstream timed out/);
    } finally {
      await proxied.close();
    }
  });
});
