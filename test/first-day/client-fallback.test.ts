/**
 * Set-up mistakes seen from our client (issue 12, items 1, 2 and 5): it never
 * hangs and never loops; it falls back to long-polling or fails `connect()`
 * with an error that names the fix. Attempts are counted.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import type { Express } from 'express';
import { BayeuxClient, type BayeuxClientError } from '../../lib/client/index.js';
import type { Logger, Message } from '../../lib/index.js';
import { startServer, until } from '../helpers/server.js';

/** A logger that keeps warnings. */
function warnings(): Logger & { warned: string[] } {
  const warned: string[] = [];
  return { warned, debug() {}, info() {}, warn: (_o, msg) => warned.push(String(msg)), error() {} };
}

/** The host's login, as a session middleware would do it: a cookie names the user. */
function login(app: Express): void {
  app.use((req, _res, next) => {
    const name = /(?:^|; )login=(\w+)/.exec(req.headers.cookie ?? '')?.[1];
    if (name !== undefined) (req as { user?: unknown }).user = { id: name };
    next();
  });
}

describe('a logged-in app that forgot server.useOnUpgrade()', () => {
  it('logs the fix once, and the client falls back to long-polling after one refused socket', async (t) => {
    const logger = warnings();
    const server = await startServer({ logger, timeout: 200 }, { websocket: true, before: login });
    t.after(() => server.close());
    let upgrades = 0;
    server.http.on('upgrade', () => upgrades++);
    const client = new BayeuxClient(server.url, { headers: { cookie: 'login=ann' }, backoff: { initial: 10, max: 50 } });
    t.after(() => client.disconnect());
    const errors: BayeuxClientError[] = [];
    client.on('error', (e) => errors.push(e));
    const received: Message[] = [];
    // Subscribed while connecting, as apps do: the subscribe is refused on the socket too, and sent again.
    const connecting = client.connect();
    await client.subscribe('/first/day', (m) => received.push(m));
    await connecting;
    assert.equal(client.transport, 'long-polling');
    await client.publish('/first/day', 'hello');
    await until(() => received.length === 1, 'the delivery over long-polling');
    // Several connect cycles later (the server holds 200 ms), still one socket tried.
    const cycles = errors.length;
    await server.bayeux.publish('/first/day', 'again');
    await until(() => received.length === 2, 'a second delivery');
    assert.equal(upgrades, 1);
    assert.equal(errors.length, cycles);
    assert.deepEqual(
      errors.map((e) => e.code),
      [403],
    );
    assert.match(errors[0]?.message ?? '', /useOnUpgrade/);
    const hints = logger.warned.filter((w) => w.includes('useOnUpgrade'));
    assert.equal(hints.length, 1);
    assert.match(hints[0] as string, /server\.useOnUpgrade\(sessionMiddleware, passport\.session\(\)\)/);
    assert.ok(!logger.warned.some((w) => w.includes('presented by another user')), 'not reported as a hijack');
  });

  it('fails connect() with a typed error when the client may only use WebSocket', async (t) => {
    const server = await startServer({ logger: false }, { websocket: true, before: login });
    t.after(() => server.close());
    let upgrades = 0;
    server.http.on('upgrade', () => upgrades++);
    const client = new BayeuxClient(server.url, { transports: ['websocket'], headers: { cookie: 'login=ann' } });
    t.after(() => client.disconnect());
    await assert.rejects(client.connect(), (err: BayeuxClientError) => err.code === 403 && /useOnUpgrade/.test(err.message));
    assert.equal(client.state, 'disconnected');
    assert.equal(upgrades, 1);
  });
});

describe('a WebSocket nobody answers (mounted elsewhere, a proxy that drops upgrades)', () => {
  it('gives up on the socket after webSocketTimeout and connects over long-polling', async (t) => {
    const server = await startServer({ logger: false });
    const swallowed: Socket[] = [];
    server.http.on('upgrade', (_req, socket: Socket) => swallowed.push(socket));
    // Sockets first: the HTTP server's close waits for them.
    t.after(async () => {
      for (const socket of swallowed) socket.destroy();
      await server.close();
    });
    // The server offers websocket (as if attached on another path): the client tries it.
    server.bayeux.attach(server.http, { path: '/elsewhere' });
    const client = new BayeuxClient(server.url, { webSocketTimeout: 300 });
    t.after(() => client.disconnect());
    await client.connect();
    assert.equal(client.transport, 'long-polling');
    assert.equal(swallowed.length, 1);
  });

  it('fails connect() with a typed error when long-polling is not allowed', async (t) => {
    const server = await startServer({ logger: false });
    const swallowed: Socket[] = [];
    server.http.on('upgrade', (_req, socket: Socket) => swallowed.push(socket));
    // Sockets first: the HTTP server's close waits for them.
    t.after(async () => {
      for (const socket of swallowed) socket.destroy();
      await server.close();
    });
    server.bayeux.attach(server.http, { path: '/elsewhere' });
    const client = new BayeuxClient(server.url, { transports: ['websocket'], webSocketTimeout: 300 });
    t.after(() => client.disconnect());
    await assert.rejects(client.connect(), {
      name: 'BayeuxClientError',
      code: 301,
      message: "WebSocket did not open within 300 ms, and long-polling is not among the client's transports",
    });
    assert.equal(swallowed.length, 1);
  });
});

describe('a server that was never attached', () => {
  it('refuses a WebSocket-only client once, naming server.attach()', async (t) => {
    const logger = warnings();
    const server = await startServer({ logger });
    t.after(() => server.close());
    let handshakes = 0;
    server.http.on('request', (req) => {
      if (req.method === 'POST') handshakes++;
    });
    const client = new BayeuxClient(server.url, { transports: ['websocket'] });
    t.after(() => client.disconnect());
    await assert.rejects(
      client.connect(),
      (err: BayeuxClientError) => err.code === 301 && /server\.attach\(httpServer\)/.test(err.message),
    );
    assert.equal(handshakes, 1);
    assert.equal(logger.warned.filter((w) => w.includes('server.attach(httpServer) was never called')).length, 1);
  });
});
