/**
 * Attacks through ordinary requests: cross-site requests riding a login
 * cookie, a clientId used under another login, forged X-Forwarded-For,
 * prototype pollution, handshake floods.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Express } from 'express';
import { type BayeuxOptions, bayeux, type Message } from '../../lib/index.js';
import { recordingLogger } from '../helpers/logger.js';
import { RawClient, rawPost } from '../helpers/raw-client.js';
import { type TestServer, until, withServer } from '../helpers/server.js';

const HANDSHAKE = { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling', 'callback-polling'] };

interface User {
  id: string;
}

/** Host "auth": the cookie `user=<name>` logs the request in as that user. */
function cookieLogin(app: Express): void {
  app.use((req, _res, next) => {
    const match = /(?:^|;\s*)user=(\w+)/.exec(req.headers.cookie ?? '');
    if (match) (req as { user?: User }).user = { id: match[1] as string };
    next();
  });
}

/** A server whose host app logs requests in by cookie (or runs `before` instead). */
function withLoginServer(
  options: BayeuxOptions<User>,
  run: (s: TestServer<User>) => Promise<void>,
  before: (app: Express) => void = cookieLogin,
) {
  return withServer<User>(options, run, { before });
}

describe('cross-site request forgery', () => {
  it('gives a cross-site form POST no user, so it cannot act as the logged-in user', async () => {
    const seen: (User | undefined)[] = [];
    await withLoginServer(
      {
        messageACL: (_c, m, ctx) => {
          if (m.channel === '/meta/handshake') seen.push(ctx.user);
          return true;
        },
      },
      async (server) => {
        const form = `message=${encodeURIComponent(JSON.stringify(HANDSHAKE))}`;
        const cross = await rawPost(server.url, form, {
          contentType: 'application/x-www-form-urlencoded',
          raw: true,
          headers: { cookie: 'user=alice', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
        });
        assert.equal(cross.messages[0]?.successful, true);
        const same = await rawPost(server.url, HANDSHAKE, { headers: { cookie: 'user=alice', 'sec-fetch-site': 'same-origin' } });
        assert.equal(same.messages[0]?.successful, true);
        assert.deepEqual(seen, [undefined, { id: 'alice' }]);
      },
    );
  });

  it('gives a cross-site JSONP GET no user (by Referer)', async () => {
    const seen: (User | undefined)[] = [];
    await withLoginServer(
      {
        messageACL: (_c, _m, ctx) => {
          seen.push(ctx.user);
          return true;
        },
      },
      async (server) => {
        const query = new URLSearchParams({ message: JSON.stringify(HANDSHAKE), jsonp: 'cb' });
        const res = await fetch(`${server.url}?${query}`, { headers: { cookie: 'user=alice', referer: 'https://evil.example/page' } });
        assert.equal(res.status, 200);
        assert.deepEqual(seen, [undefined]);
      },
    );
  });

  it('refuses a publish by a cross-site request riding a logged-in session', async () => {
    await withLoginServer(
      { messageACL: (_c, m, ctx) => m.channel === '/meta/handshake' || ctx.user !== undefined || 'login required' },
      async (server) => {
        const hs = await rawPost(server.url, HANDSHAKE, { headers: { cookie: 'user=alice' } });
        const clientId = hs.messages[0]?.clientId as string;
        // The session is Alice's; a forged cross-site request carries her cookie but is stripped of her user.
        const forged = await rawPost(
          server.url,
          { channel: '/chat', clientId, data: 'forged' },
          { headers: { cookie: 'user=alice', origin: 'https://evil.example' } },
        );
        assert.equal(forged.messages[0]?.successful, false);
        assert.match(String(forged.messages[0]?.error), /^403:/);
      },
    );
  });
});

describe('CORS', () => {
  it('grants credentialed CORS only to allow-listed origins', async () => {
    await withLoginServer({ cors: { origin: ['https://app.example'] } }, async (server) => {
      const preflight = await fetch(server.url, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://app.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
      assert.ok(preflight.status === 204 || preflight.status === 200);
      assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example');
      assert.equal(preflight.headers.get('access-control-allow-credentials'), 'true');
      const allowed = await rawPost(server.url, HANDSHAKE, { headers: { origin: 'https://app.example' } });
      assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example');
      const other = await rawPost(server.url, HANDSHAKE, { headers: { origin: 'https://evil.example' } });
      assert.equal(other.headers.get('access-control-allow-origin'), null);
      assert.equal(other.headers.get('access-control-allow-credentials'), null);
    });
  });

  it("allows '*' only without credentials", async () => {
    await withLoginServer({ cors: { origin: '*', credentials: false } }, async (server) => {
      const res = await rawPost(server.url, HANDSHAKE, { headers: { origin: 'https://any.example' } });
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.equal(res.headers.get('access-control-allow-credentials'), null);
    });
    assert.throws(() => bayeux({ cors: { origin: '*' } }), /cors\.origin/);
  });

  it('treats an allow-listed cross-origin request as carrying its user', async () => {
    const seen: (User | undefined)[] = [];
    await withLoginServer(
      {
        cors: { origin: 'https://app.example' },
        messageACL: (_c, _m, ctx) => {
          seen.push(ctx.user);
          return true;
        },
      },
      async (server) => {
        await rawPost(server.url, HANDSHAKE, { headers: { cookie: 'user=bob', origin: 'https://app.example' } });
        assert.deepEqual(seen, [{ id: 'bob' }]);
      },
    );
  });
});

describe('session hijack', () => {
  it("refuses a clientId presented with another user's login, and logs it as a hijack", async () => {
    const logger = recordingLogger();
    await withLoginServer({ logger }, async (server) => {
      const hs = await rawPost(server.url, HANDSHAKE, { headers: { cookie: 'user=alice' } });
      const clientId = hs.messages[0]?.clientId as string;
      const stolen = await rawPost(
        server.url,
        { channel: '/meta/subscribe', clientId, subscription: '/private' },
        { headers: { cookie: 'user=mallory' } },
      );
      const refusal = stolen.messages[0];
      assert.equal(refusal?.successful, false);
      assert.match(String(refusal?.error), /^403::Session belongs to another user$/);
      assert.equal(refusal?.clientId, clientId);
      assert.equal(refusal?.subscription, '/private');
      assert.equal(refusal?.advice?.reconnect, 'handshake');
      // Without any login over long-polling it is a hijack too (only a login-less WebSocket hints at useOnUpgrade).
      const anonymous = await rawPost(server.url, { channel: '/meta/subscribe', clientId, subscription: '/private' });
      assert.equal(anonymous.messages[0]?.error, '403::Session belongs to another user');
      const hijack = [
        { clientId, ip: '127.0.0.1', transport: 'long-polling' },
        'express-bayeux: clientId presented by another user; refused',
      ];
      assert.deepEqual(logger.lines.warn, [hijack, hijack]);
      const own = await rawPost(
        server.url,
        { channel: '/meta/subscribe', clientId, subscription: '/private' },
        { headers: { cookie: 'user=alice' } },
      );
      assert.equal(own.messages[0]?.successful, true);
    });
  });
});

describe('prototype pollution', () => {
  it('leaves Object.prototype untouched by __proto__ and constructor keys anywhere in a message', async () => {
    await withLoginServer({ services: { echo: (m) => m.data } }, async (server) => {
      const client = new RawClient(server.url);
      await client.handshake({ ext: JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}}') });
      const evil = '{"__proto__":{"polluted":3},"constructor":{"prototype":{"polluted":4}}}';
      const body = `[{"channel":"/meta/subscribe","clientId":"${client.clientId}","subscription":"/p/a","ext":${evil},"advice":${evil}},
        {"channel":"/p/a","clientId":"${client.clientId}","data":${evil},"ext":${evil}},
        {"channel":"/service/echo","clientId":"${client.clientId}","data":${evil},"id":"e"}]`;
      const res = await rawPost(server.url, body, { raw: true });
      assert.equal(res.status, 200);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false);
      const echo = res.messages.find((m) => m.id === 'e');
      assert.equal(echo?.successful, true);
    });
  });

  for (const channel of ['/__proto__', '/constructor/prototype', '/__proto__/*', '/toString']) {
    it(`treats the channel ${channel} as an ordinary name`, async () => {
      await withLoginServer({}, async (server) => {
        const listener = new RawClient(server.url);
        await listener.handshake();
        const sub = await listener.subscribe(channel);
        assert.equal(sub.successful, true);
        const publisher = new RawClient(server.url);
        await publisher.handshake();
        const target = channel.endsWith('/*') ? channel.replace('*', 'x') : channel;
        const pub = await publisher.publish(target, 'ok');
        assert.equal(pub.successful, true);
        const messages = await listener.connect(0);
        assert.deepEqual(
          messages.filter((m: Message) => m.data === 'ok').map((m) => m.channel),
          [target],
        );
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
      });
    });
  }
});

describe('the per-IP caps', () => {
  it('cannot be dodged with a forged X-Forwarded-For unless the app trusts a proxy', async () => {
    const logger = recordingLogger();
    await withLoginServer(
      { clientMaxConnections: 1, timeout: 10_000, logger },
      async (server) => {
        const a = new RawClient(server.url);
        await a.handshake();
        const held = a.connect();
        await until(async () => (await server.bayeux.stats()).held === 1, 'one held connect');
        const b = new RawClient(server.url);
        await b.handshake();
        const forged = await rawPost(
          server.url,
          { channel: '/meta/connect', clientId: b.clientId, connectionType: 'long-polling' },
          { headers: { 'x-forwarded-for': '203.0.113.9' } },
        );
        assert.equal(forged.status, 503);
        assert.ok(forged.headers.get('retry-after'));
        // Behind a real proxy the same happens to everyone: the warning names the missing `trust proxy`.
        assert.match(
          String(logger.lines.warn.at(-1)?.[1]),
          /too many held requests from one IP \(127\.0\.0\.1\).*set app\.set\('trust proxy'/,
        );
        await server.bayeux.disconnect(a.clientId as string);
        await held;
      },
      () => {},
    );
  });

  it('counts the address the trusted proxy reports', async () => {
    await withLoginServer(
      { clientMaxConnections: 1, timeout: 10_000 },
      async (server) => {
        const a = new RawClient(server.url, { 'x-forwarded-for': '203.0.113.1' });
        await a.handshake();
        const held = a.connect();
        await until(async () => (await server.bayeux.stats()).held === 1, 'one held connect');
        const b = new RawClient(server.url, { 'x-forwarded-for': '203.0.113.2' });
        await b.handshake();
        const other = b.connect(0);
        assert.equal((await other).at(-1)?.successful, true);
        const stats = await server.bayeux.stats();
        assert.deepEqual(Object.keys(stats.perIp), ['203.0.113.1']);
        await server.bayeux.disconnect(a.clientId as string);
        await held;
      },
      (app) => app.set('trust proxy', 'loopback'),
    );
  });

  it('stops a flood of handshakes from one address at maxSessionsPerIp', async () => {
    await withLoginServer({ maxSessionsPerIp: 20 }, async (server) => {
      const replies = await Promise.all(Array.from({ length: 50 }, () => rawPost(server.url, HANDSHAKE)));
      const ok = replies.filter((r) => r.messages[0]?.successful === true).length;
      const refused = replies.filter((r) => String(r.messages[0]?.error).startsWith('503:'));
      assert.equal(ok, 20);
      assert.equal(refused.length, 30);
      assert.equal(refused[0]?.messages[0]?.advice?.reconnect, 'handshake');
      assert.equal((await server.bayeux.stats()).sessions, 20);
    });
  });
});
