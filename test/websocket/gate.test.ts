/**
 * README "WebSocket": finding the app, the upgrade path, the order of the
 * upgrade gate, origins, trust proxy and session binding over a socket.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import express, { type Express } from 'express';
import { type BayeuxOptions, type BayeuxServer, bayeux } from '../../lib/index.js';
import { recordingLogger } from '../helpers/logger.js';
import { RawClient } from '../helpers/raw-client.js';
import { type TestServer, until, withServer } from '../helpers/server.js';
import { WsClient } from '../helpers/ws-client.js';

interface User {
  id: string;
  team?: string;
}

/** Host "auth": the cookie `user=<name>` logs the request in (on HTTP, and on upgrades through useOnUpgrade). */
function cookieLogin(req: { headers: { cookie?: string } }, _res: unknown, next: () => void): void {
  const match = /(?:^|;\s*)user=(\w+)/.exec(req.headers.cookie ?? '');
  if (match) (req as { user?: User }).user = { id: match[1] as string };
  next();
}

/** An Express app with a Bayeux server at `mount`, listening through `app.listen()` (not createServer). */
async function listenApp(t: TestContext, options: BayeuxOptions<User>, mount = '/cometd', setup?: (app: Express) => void) {
  const app = express();
  setup?.(app);
  const server: BayeuxServer<User> = bayeux<User>({ logger: false, ...options });
  app.use(mount, server);
  const http: Server = app.listen(0, '127.0.0.1');
  await once(http, 'listening');
  t.after(async () => {
    await server.close();
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });
  return { app, server, http, base: `http://127.0.0.1:${(http.address() as AddressInfo).port}` };
}

describe('finding the app and the path', () => {
  it('finds the Express app of app.listen() on its own: upgrades get req.ip with trust proxy', async (t) => {
    const ips: string[] = [];
    const { server, http, base } = await listenApp(
      t,
      {
        messageACL: (_c, m, ctx) => {
          if (m.channel === '/meta/handshake') ips.push(ctx.ip);
          return true;
        },
      },
      '/cometd',
      (app) => app.set('trust proxy', 'loopback'),
    );
    server.attach(http);
    const ws = await WsClient.open(`${base}/cometd`, { headers: { 'x-forwarded-for': '203.0.113.7' } });
    assert.equal((await ws.handshake()).successful, true);
    await ws.close();
    assert.deepEqual(ips, ['203.0.113.7']);
  });

  it('ignores a forged X-Forwarded-For over WebSocket without trust proxy', async (t) => {
    const ips: string[] = [];
    const { server, http, base } = await listenApp(t, {
      messageACL: (_c, m, ctx) => {
        if (m.channel === '/meta/handshake') ips.push(ctx.ip);
        return true;
      },
    });
    server.attach(http);
    const ws = await WsClient.open(`${base}/cometd`, { headers: { 'x-forwarded-for': '203.0.113.7' } });
    assert.equal((await ws.handshake()).successful, true);
    await ws.close();
    assert.deepEqual(ips, ['127.0.0.1']);
  });

  it('takes upgrades on websocket.path, and leaves the default path alone', async (t) => {
    const { server, http, base } = await listenApp(t, { websocket: { path: '/bayeux' } }, '/bayeux');
    server.attach(http);
    const ws = await WsClient.open(`${base}/bayeux`);
    assert.equal((await ws.handshake()).successful, true);
    await ws.close();
    // /cometd is left to other upgrade handlers: here one that answers 404.
    http.on('upgrade', (req, socket) => {
      if (req.url?.startsWith('/cometd')) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    await assert.rejects(WsClient.open(`${base}/cometd`), (e: { status?: number }) => e.status === 404);
  });

  it('takes upgrades on the path given to attach(http, { path })', async (t) => {
    const { server, http, base } = await listenApp(t, {}, '/rt');
    server.attach(http, { path: '/rt' });
    const ws = await WsClient.open(`${base}/rt`);
    assert.equal((await ws.handshake()).successful, true);
    await ws.close();
  });
});

function withGate(options: BayeuxOptions<User>, run: (s: TestServer<User>) => Promise<void>): Promise<void> {
  return withServer<User>(options, run, { websocket: true, before: (app) => app.use(cookieLogin) });
}

describe('the upgrade gate', () => {
  it('checks in order: per-IP cap (503), cross-site cookies (403), useOnUpgrade middleware, websocket.handshake', async () => {
    const calls: string[] = [];
    const logger = recordingLogger();
    await withGate(
      {
        clientMaxConnections: 1,
        logger,
        websocket: {
          handshake: () => {
            calls.push('handshake');
            return true;
          },
        },
      },
      async (server) => {
        server.bayeux.useOnUpgrade((_req, _res, next) => {
          calls.push('middleware');
          next();
        });
        const first = await WsClient.open(server.url);
        assert.deepEqual(calls, ['middleware', 'handshake']);
        calls.length = 0;
        // Over the cap and cross-site with a cookie: the cap answers first.
        const crossSite = { headers: { cookie: 'user=alice', origin: 'https://evil.example' } };
        await assert.rejects(WsClient.open(server.url, crossSite), (e: { status?: number }) => e.status === 503);
        // A forwarded upgrade over the cap, with no `trust proxy`: the warning says what to set.
        const forwarded = { headers: { 'x-forwarded-for': '203.0.113.9' } };
        await assert.rejects(WsClient.open(server.url, forwarded), (e: { status?: number }) => e.status === 503);
        assert.match(String(logger.lines.warn.at(-1)?.[1]), /too many connections from one IP.*trust proxy/);
        await first.close();
        await until(async () => (await server.bayeux.stats()).sockets === 0, 'the first socket released');
        // Under the cap: the origin check refuses before any middleware or hook runs.
        await assert.rejects(WsClient.open(server.url, crossSite), (e: { status?: number }) => e.status === 403);
        assert.deepEqual(calls, []);
      },
    );
  });

  it('lets a cookie-less cross-origin upgrade in (it carries no login to abuse)', async () => {
    await withGate({}, async (server) => {
      const ws = await WsClient.open(server.url, { headers: { origin: 'https://elsewhere.example' } });
      assert.equal((await ws.handshake()).successful, true);
      await ws.close();
    });
  });

  it('takes its default websocket.origins from cors.origin', async () => {
    await withGate({ cors: { origin: 'https://app.example' } }, async (server) => {
      const ws = await WsClient.open(server.url, { headers: { cookie: 'user=alice', origin: 'https://app.example' } });
      assert.equal((await ws.handshake()).successful, true);
      await ws.close();
      await assert.rejects(
        WsClient.open(server.url, { headers: { cookie: 'user=alice', origin: 'https://evil.example' } }),
        (e: { status?: number }) => e.status === 403,
      );
    });
  });

  it('refuses a clientId presented over WebSocket under another login (session hijack)', async () => {
    await withGate({}, async (server) => {
      server.bayeux.useOnUpgrade(cookieLogin);
      const alice = new RawClient(server.url, { cookie: 'user=alice' });
      await alice.handshake();
      const mallory = await WsClient.open(server.url, { headers: { cookie: 'user=mallory' } });
      mallory.clientId = alice.clientId;
      const reply = await mallory.subscribe('/hijack/a');
      assert.equal(reply.successful, false);
      assert.equal(reply.error, '403::Session belongs to another user');
      await mallory.close();
    });
  });
});
