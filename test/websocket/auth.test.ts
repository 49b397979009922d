/** Who may open a socket, and how the host's login reaches Bayeux over it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import session from 'express-session';
import createError from 'http-errors';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import type { BayeuxOptions } from '../../lib/index.js';
import { startServer, type TestServer, withServer } from '../helpers/server.js';
import { WsClient } from '../helpers/ws-client.js';

function withWsServer<U>(options: BayeuxOptions<U>, run: (s: TestServer<U>) => Promise<void>): Promise<void> {
  return withServer<U>(options, run, { websocket: true });
}

describe('the websocket.handshake hook', () => {
  it('refuses the upgrade with 403 when it returns false', async () => {
    await withWsServer({ websocket: { handshake: () => false } }, async (server) => {
      await assert.rejects(WsClient.open(server.url), (error: { status?: number }) => error.status === 403);
    });
  });

  it('refuses with the status of an http-errors error it throws, with the reason in the body', async () => {
    await withWsServer(
      {
        websocket: {
          handshake: () => {
            throw createError(401, 'Login required');
          },
        },
      },
      async (server) => {
        await assert.rejects(WsClient.open(server.url), (error: { status?: number; body?: string }) => {
          assert.equal(error.status, 401);
          assert.match(error.body ?? '', /401::Login required/);
          return true;
        });
      },
    );
  });

  it('keeps the values it returns on the connection, for messageACL and services', async () => {
    const seen: unknown[] = [];
    await withWsServer(
      {
        websocket: { handshake: (req) => ({ agent: req.headers['user-agent'] }) },
        messageACL: (_client, _message, ctx) => {
          seen.push(ctx.upgrade);
          return true;
        },
      },
      async (server) => {
        const ws = await WsClient.open(server.url, { headers: { 'user-agent': 'test-agent/1' } });
        assert.equal((await ws.handshake()).successful, true);
        await ws.subscribe('/auth/x');
        assert.deepEqual(seen, [{ agent: 'test-agent/1' }, { agent: 'test-agent/1' }]);
        await ws.close();
      },
    );
  });
});

describe('cross-site WebSocket hijacking', () => {
  it('refuses a cookie-carrying upgrade from a foreign origin, and takes one from an allowed origin', async () => {
    await withWsServer({ websocket: { origins: ['https://app.example'] } }, async (server) => {
      await assert.rejects(
        WsClient.open(server.url, { headers: { cookie: 'sid=1' }, origin: 'https://evil.example' }),
        (error: { status?: number }) => error.status === 403,
      );
      const allowed = await WsClient.open(server.url, { headers: { cookie: 'sid=1' }, origin: 'https://app.example' });
      await allowed.close();
      const sameHost = await WsClient.open(server.url, { headers: { cookie: 'sid=1' }, origin: `http://127.0.0.1:${server.port}` });
      await sameHost.close();
    });
  });
});

describe('login on upgrade with express-session and passport', () => {
  interface User {
    id: string;
    name: string;
  }
  const USERS: User[] = [{ id: '1', name: 'alice' }];

  it('hands the logged-in user to the handshake and messageACL, and refuses anonymous sockets', async () => {
    passport.use(
      new LocalStrategy((username, password, done) => {
        const user = USERS.find((u) => u.name === username && password === 'secret');
        done(null, user ?? false);
      }),
    );
    passport.serializeUser<string>((user, done) => done(null, (user as User).id));
    passport.deserializeUser<string>((id, done) => done(null, USERS.find((u) => u.id === id) ?? false));
    const sessions = session({ secret: 'test', resave: false, saveUninitialized: false });
    const seen: (string | undefined)[] = [];
    let server: TestServer<User> | undefined;
    server = await startServer<User>(
      {
        messageACL: (_client, message, ctx) => {
          if (message.channel === '/meta/handshake') seen.push(ctx.user?.name);
          return ctx.user !== undefined || 'Login required';
        },
      },
      {
        websocket: true,
        before: (app) => {
          app.use(sessions, passport.session());
          app.post('/login', express.urlencoded({ extended: false }), passport.authenticate('local'), (_req, res) => {
            res.sendStatus(204);
          });
        },
      },
    );
    try {
      server.bayeux.useOnUpgrade(sessions, passport.session());
      const login = await fetch(`http://127.0.0.1:${server.port}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'username=alice&password=secret',
      });
      assert.equal(login.status, 204);
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
      assert.match(cookie, /^connect\.sid=/);

      const ws = await WsClient.open(server.url, { headers: { cookie }, origin: `http://127.0.0.1:${server.port}` });
      const hs = await ws.handshake();
      assert.equal(hs.successful, true);
      assert.equal((await ws.publish('/auth/chat', 'hi')).successful, true);
      const connected = new Promise<string | undefined>((resolve) => server?.bayeux.once('connect', (e) => resolve(e.user?.name)));
      const again = await WsClient.open(server.url, { headers: { cookie } });
      await again.handshake();
      await again.connected(again.connect(0));
      assert.equal(await connected, 'alice');

      const anonymous = await WsClient.open(server.url);
      const refused = await anonymous.handshake();
      assert.equal(refused.successful, false);
      assert.match(String(refused.error), /^403::Login required$/);
      assert.equal(refused.advice?.reconnect, 'none');
      assert.deepEqual(seen, ['alice', 'alice', undefined]);
      await Promise.all([ws.close(), again.close(), anonymous.close()]);
    } finally {
      await server.close();
      server = undefined;
    }
  });
});
