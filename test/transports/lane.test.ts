/**
 * The poll lane: once attached, /meta/connect-only POSTs are answered before
 * the host's Express stack, with the browser binding standing in for
 * `req.user`. Host middleware counts the requests it sees, so each test
 * tells which way a poll went.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, describe, it } from 'node:test';
import express, { type Express, type Request } from 'express';
import { type BayeuxOptions, type BayeuxServer, bayeux, type Message } from '../../lib/index.js';
import { deliveries, type RawResponse, rawPost } from '../helpers/raw-client.js';
import { until } from '../helpers/server.js';
import { WsClient } from '../helpers/ws-client.js';

interface Host {
  app: Express;
  bayeux: BayeuxServer<{ id: string }>;
  http: Server;
  url: string;
  /** Requests the host's middleware saw. */
  seen: number;
  close(): Promise<void>;
}

/** An Express app whose middleware logs users in from `x-user` and counts what it sees. */
async function host(
  options: BayeuxOptions<{ id: string }> = {},
  attach: {
    lane?: boolean;
    mount?: string;
    attach?: boolean;
    setup?: (app: Express) => void;
    /** Where the counting middleware is mounted (default every path); elsewhere than the mount, the mount is bare. */
    hostPath?: string;
  } = {},
): Promise<Host> {
  const app = express();
  const state = { seen: 0 };
  attach.setup?.(app);
  app.use(attach.hostPath ?? '/', (req, _res, next) => {
    state.seen++;
    const name = req.headers['x-user'];
    if (typeof name === 'string') (req as { user?: unknown }).user = { id: name };
    next();
  });
  const server = bayeux<{ id: string }>({ logger: false, ...options });
  const mount = attach.mount ?? '/cometd';
  app.use(mount, server);
  const http = createServer(app);
  if (attach.attach !== false) server.attach(http, attach.lane === undefined ? undefined : { lane: attach.lane });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  await server.ready;
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}${mount}`;
  return {
    app,
    bayeux: server,
    http,
    url,
    get seen() {
      return state.seen;
    },
    async close() {
      await server.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

const HANDSHAKE: Message = { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] };

/** Handshakes (optionally as `user`); returns the clientId and the browser cookie the reply set. */
async function handshake(url: string, user?: string): Promise<{ clientId: string; cookie: string | undefined; res: RawResponse }> {
  const res = await rawPost(url, [HANDSHAKE], { headers: user === undefined ? {} : { 'x-user': user } });
  const reply = res.messages[0] as Message;
  assert.equal(reply.successful, true, res.text);
  const set = res.headers.getSetCookie().find((c) => c.startsWith('BAYEUX_BROWSER='));
  return { clientId: reply.clientId as string, cookie: set?.split(';')[0], res };
}

function poll(url: string, clientId: string, headers: Record<string, string> = {}, timeout = 0): Promise<RawResponse> {
  return rawPost(url, [{ channel: '/meta/connect', clientId, connectionType: 'long-polling', advice: { timeout } }], { headers });
}

function connectReply(res: RawResponse): Message {
  const reply = res.messages.find((m) => m.channel === '/meta/connect');
  assert.ok(reply, `no connect reply in ${res.status} ${res.text}`);
  return reply;
}

describe('the poll lane', () => {
  let server: Host | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers anonymous polls before the host middleware, and everything else through it', async () => {
    server = await host();
    const { clientId, cookie } = await handshake(server.url);
    assert.equal(cookie, undefined, 'anonymous sessions need no browser cookie');
    const seen = server.seen;
    const res = await poll(server.url, clientId);
    assert.equal(connectReply(res).successful, true);
    assert.equal(server.seen, seen, 'the poll skipped the host stack');
    const sub = await rawPost(server.url, [{ channel: '/meta/subscribe', clientId, subscription: '/lane/a' }]);
    assert.equal(sub.messages[0]?.successful, true);
    assert.equal(server.seen, seen + 1, 'the subscribe went through the host stack');
  });

  it('delivers messages to a held lane poll', async () => {
    server = await host();
    const { clientId } = await handshake(server.url);
    await rawPost(server.url, [{ channel: '/meta/subscribe', clientId, subscription: '/lane/d' }]);
    const held = poll(server.url, clientId, {}, 10_000);
    const s = server;
    await until(async () => (await s.bayeux.stats()).held === 1, 'the held poll');
    await server.bayeux.publish('/lane/d', { n: 1 });
    const res = await held;
    assert.deepEqual(
      deliveries(res.messages).map((m) => m.data),
      [{ n: 1 }],
    );
  });

  it('binds a logged-in session to its browser with an HttpOnly SameSite cookie and polls it on the lane', async () => {
    server = await host();
    const { clientId, cookie, res } = await handshake(server.url, 'alice');
    assert.ok(cookie, 'the handshake reply sets BAYEUX_BROWSER');
    const header = res.headers.getSetCookie().find((c) => c.startsWith('BAYEUX_BROWSER=')) as string;
    assert.match(header, /; Path=\/cometd/);
    assert.match(header, /; HttpOnly/);
    assert.match(header, /; SameSite=Strict/);
    const seen = server.seen;
    const polled = await poll(server.url, clientId, { cookie: `other=1; ${cookie}` });
    assert.equal(connectReply(polled).successful, true, polled.text);
    assert.equal(server.seen, seen, 'the poll took the lane');
    // A second handshake from the same browser reuses its id: tabs share the cookie.
    const again = await rawPost(server.url, [HANDSHAKE], { headers: { 'x-user': 'alice', cookie } });
    assert.equal(
      again.headers.getSetCookie().some((c) => c.startsWith('BAYEUX_BROWSER=')),
      false,
    );
  });

  it('refuses a stolen clientId polled from another browser or without the cookie', async () => {
    server = await host();
    const victim = await handshake(server.url, 'alice');
    const thief = await handshake(server.url, 'mallory');
    await rawPost(server.url, [{ channel: '/meta/subscribe', clientId: victim.clientId, subscription: '/lane/secret' }], {
      headers: { 'x-user': 'alice' },
    });
    await server.bayeux.publish('/lane/secret', { pin: 1234 });
    const attempts: Record<string, string>[] = [
      {},
      { cookie: thief.cookie as string },
      { cookie: thief.cookie as string, 'x-user': 'mallory' },
      { cookie: 'BAYEUX_BROWSER=AAAAAAAAAAAAAAAAAAAAAAAA' },
    ];
    for (const headers of attempts) {
      const seen: number = server.seen;
      const res = await poll(server.url, victim.clientId, headers);
      const reply = connectReply(res);
      assert.equal(reply.successful, false, JSON.stringify(headers));
      assert.match(String(reply.error), /^403:/);
      assert.deepEqual(deliveries(res.messages), []);
      assert.equal(server.seen, seen + 1, 'a poll without the right cookie goes to the host stack, which checks req.user');
    }
    // The owner still gets the message.
    const owner = await poll(server.url, victim.clientId, { cookie: victim.cookie as string });
    assert.deepEqual(
      deliveries(owner.messages).map((m) => m.data),
      [{ pin: 1234 }],
    );
  });

  it('gives a cross-site poll nothing, even with the cookie', async () => {
    server = await host();
    const { clientId, cookie } = await handshake(server.url, 'alice');
    await rawPost(server.url, [{ channel: '/meta/subscribe', clientId, subscription: '/lane/x' }], { headers: { 'x-user': 'alice' } });
    await server.bayeux.publish('/lane/x', { n: 1 });
    const res = await poll(server.url, clientId, { cookie: cookie as string, 'x-user': 'alice', origin: 'https://evil.example' });
    assert.equal(connectReply(res).successful, false);
    assert.deepEqual(deliveries(res.messages), []);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
  });

  it('counts lane polls against the per-IP cap', async () => {
    server = await host({ clientMaxConnections: 1 });
    const a = await handshake(server.url);
    const b = await handshake(server.url);
    const held = poll(server.url, a.clientId, {}, 10_000);
    const s = server;
    await until(async () => (await s.bayeux.stats()).held === 1, 'the held poll');
    const seen = server.seen;
    const refused = await poll(server.url, b.clientId, {}, 10_000);
    assert.equal(refused.status, 503);
    assert.match(refused.text, /Too many connections/);
    assert.equal(server.seen, seen, 'refused on the lane');
    await server.bayeux.disconnect(a.clientId);
    await held;
  });

  it("takes the client address from the app's trust proxy setting", async () => {
    server = await host({}, { setup: (app) => app.set('trust proxy', 'loopback') });
    const { clientId } = await handshake(server.url);
    const held = poll(server.url, clientId, { 'x-forwarded-for': '203.0.113.9' }, 10_000);
    const s = server;
    await until(async () => (await s.bayeux.stats()).held === 1, 'the held poll');
    assert.deepEqual((await server.bayeux.stats()).perIp, { '203.0.113.9': 1 });
    await server.bayeux.disconnect(clientId);
    await held;
  });

  it('counts a request under the address host middleware gave it (req.ip defined on the request)', async () => {
    server = await host(
      {},
      {
        lane: false,
        setup: (app) =>
          app.use((req, _res, next) => {
            Object.defineProperty(req, 'ip', { value: '198.51.100.7' });
            next();
          }),
      },
    );
    const { clientId } = await handshake(server.url);
    const held = poll(server.url, clientId, {}, 10_000);
    const s = server;
    await until(async () => (await s.bayeux.stats()).held === 1, 'the held poll');
    assert.deepEqual((await server.bayeux.stats()).perIp, { '198.51.100.7': 1 });
    await server.bayeux.disconnect(clientId);
    await held;
  });

  it('keeps body limits on the lane', async () => {
    server = await host({ maxBodySize: 1024 });
    const { clientId } = await handshake(server.url);
    const res = await rawPost(server.url, [
      { channel: '/meta/connect', clientId, connectionType: 'long-polling', ext: { pad: 'x'.repeat(2000) } },
    ]);
    assert.equal(res.status, 413);
    const bad = await rawPost(server.url, '[{"channel":', { raw: true });
    assert.equal(bad.status, 400);
  });

  it('hands a mixed batch to the host stack with its body, even after express.json()', async () => {
    server = await host({}, { setup: (app) => app.use(express.json()) });
    const { clientId } = await handshake(server.url);
    const seen = server.seen;
    const res = await rawPost(server.url, [
      { channel: '/meta/subscribe', clientId, subscription: '/lane/m' },
      { channel: '/meta/connect', clientId, connectionType: 'long-polling', advice: { timeout: 0 } },
    ]);
    assert.equal(res.messages.find((m) => m.channel === '/meta/subscribe')?.successful, true, res.text);
    assert.equal(connectReply(res).successful, true);
    assert.equal(server.seen, seen + 1);
  });

  it('serves every POST on a bare mount (no host middleware on its path): handshakes, subscribes and publishes too', async () => {
    const seenBy: string[] = [];
    server = await host(
      {
        // What a hook reads from the request on the lane: the app's request prototype (req.ip, req.get).
        messageACL: (_client, message, ctx) => {
          const req = ctx.req as Request | undefined;
          seenBy.push(`${message.channel} ${req?.ip} ${req?.get('content-type')}`);
          return true;
        },
      },
      { hostPath: '/api' },
    );
    const { clientId, res } = await handshake(server.url);
    // Express marks what it serves (X-Powered-By); the lane does not.
    assert.equal(res.headers.get('x-powered-by'), null);
    const sub = await rawPost(server.url, [{ channel: '/meta/subscribe', clientId, subscription: '/bare/a' }]);
    assert.equal(sub.messages[0]?.successful, true);
    assert.equal(sub.headers.get('x-powered-by'), null);
    const held = poll(server.url, clientId, {}, 10_000);
    const s = server;
    await until(async () => (await s.bayeux.stats()).held === 1, 'the held poll');
    const pub = await rawPost(server.url, [{ channel: '/bare/a', clientId, data: { n: 1 } }]);
    assert.equal(pub.messages[0]?.successful, true);
    assert.deepEqual(
      deliveries((await held).messages).map((m) => m.data),
      [{ n: 1 }],
    );
    assert.equal(server.seen, 0, 'the middleware on /api saw none of it');
    assert.ok(seenBy.includes('/meta/handshake 127.0.0.1 application/json'), seenBy.join('; '));
    // Anything else on the path still goes through Express (here: a GET without a JSONP callback).
    const get = await fetch(server.url);
    assert.equal(get.status, 400);
    assert.equal(get.headers.get('x-powered-by'), 'Express');
  });

  it('is not bare once a router runs on the path before the server, even one that leads elsewhere', async () => {
    let routed = 0;
    server = await host(
      {},
      {
        hostPath: '/api',
        setup: (app) => {
          const before = express.Router();
          before.use((_req, _res, next) => {
            routed++;
            next();
          });
          app.use('/cometd', before);
        },
      },
    );
    const { clientId, res } = await handshake(server.url);
    assert.equal(res.headers.get('x-powered-by'), 'Express');
    assert.equal(routed, 1);
    assert.equal(connectReply(await poll(server.url, clientId)).successful, true);
    assert.equal(routed, 1, 'polls still take the lane');
  });

  it('is off with attach(http, { lane: false }): every poll goes through Express', async () => {
    server = await host({}, { lane: false });
    const { clientId } = await handshake(server.url);
    const seen = server.seen;
    assert.equal(connectReply(await poll(server.url, clientId)).successful, true);
    assert.equal(server.seen, seen + 1);
  });

  it('is off without attach(): the router alone works as before', async () => {
    server = await host({}, { attach: false });
    const { clientId } = await handshake(server.url);
    const seen = server.seen;
    assert.equal(connectReply(await poll(server.url, clientId)).successful, true);
    assert.equal(server.seen, seen + 1);
  });

  it('rejects bad attach options with a TypeError', async () => {
    server = await host({}, { attach: false });
    const s = server;
    assert.throws(() => s.bayeux.attach(s.http, { lane: 'yes' as unknown as boolean }), /lane must be a boolean/);
    assert.throws(() => s.bayeux.attach(s.http, { nope: 1 } as never), /unknown option "nope"/);
  });
});

describe('the mount path', () => {
  const servers: Host[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  it('takes WebSocket upgrades and lane polls where the app mounts the server', async () => {
    const server = await host({}, { mount: '/live' });
    servers.push(server);
    const { clientId } = await handshake(server.url);
    const seen = server.seen;
    assert.equal(connectReply(await poll(server.url, clientId)).successful, true);
    assert.equal(server.seen, seen, 'the lane follows the mount');
    const ws = await WsClient.open(server.url);
    try {
      ws.socket.send(JSON.stringify([{ ...HANDSHAKE, supportedConnectionTypes: ['websocket'] }]));
      await ws.waitFor(() => ws.received.some((m) => m.channel === '/meta/handshake'), 'a handshake reply over /live');
      assert.equal(ws.received.find((m) => m.channel === '/meta/handshake')?.successful, true);
    } finally {
      ws.socket.close();
    }
    await assert.rejects(WsClient.open(server.url.replace('/live', '/cometd')), (err: { status?: number }) => err.status === 404);
  });

  it('follows a mount inside a nested router', async () => {
    const app = express();
    const router = express.Router();
    const server = bayeux({ logger: false });
    router.use('/live', server);
    app.use('/api', router);
    const http = createServer(app);
    server.attach(http);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const ws = await WsClient.open(`http://127.0.0.1:${(http.address() as AddressInfo).port}/api/live`);
      ws.socket.close();
    } finally {
      await server.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });

  it('lets websocket.path override the mount', async () => {
    const server = await host({ websocket: { path: '/sockets' } }, { mount: '/live' });
    servers.push(server);
    const ws = await WsClient.open(server.url.replace('/live', '/sockets'));
    ws.socket.close();
  });

  it('names server.attach(httpServer) when an upgrade reaches the router unattached', async () => {
    const server = await host({}, { attach: false });
    servers.push(server);
    await assert.rejects(
      WsClient.open(server.url),
      (err: { status?: number; body?: string }) => err.status === 400 && /server\.attach\(httpServer\)/.test(err.body ?? ''),
    );
  });
});
