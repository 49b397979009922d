/**
 * README promises about requests with no test of their own: Sec-Fetch-Site
 * on its own, `identify`, `cors.maxAge`, RegExp and function `cors.origin`,
 * a non-zero `interval`, and `402::Session expired` on the wire.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Express } from 'express';
import type { Message } from '../../lib/index.js';
import { RawClient, rawPost } from '../helpers/raw-client.js';
import { bounded, until, withServer } from '../helpers/server.js';

const HANDSHAKE = { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] };

interface User {
  id: string;
  team: string;
}

/** The cookie `user=<name>.<team>` logs the request in. */
function cookieLogin(app: Express): void {
  app.use((req, _res, next) => {
    const match = /(?:^|;\s*)user=(\w+)\.(\w+)/.exec(req.headers.cookie ?? '');
    if (match) (req as { user?: User }).user = { id: match[1] as string, team: match[2] as string };
    next();
  });
}

describe('README: cross-site requests', () => {
  it('treats a request as cross-site by Sec-Fetch-Site alone (no Origin, no Referer): it carries no user', async () => {
    const seen: (User | undefined)[] = [];
    await withServer<User>(
      {
        messageACL: (_c, m, ctx) => {
          if (m.channel === '/meta/handshake') seen.push(ctx.user);
          return true;
        },
      },
      async (server) => {
        const cross = await rawPost(server.url, HANDSHAKE, { headers: { cookie: 'user=alice.red', 'sec-fetch-site': 'cross-site' } });
        assert.equal(cross.messages[0]?.successful, true);
        const same = await rawPost(server.url, HANDSHAKE, { headers: { cookie: 'user=alice.red', 'sec-fetch-site': 'same-origin' } });
        assert.equal(same.messages[0]?.successful, true);
        assert.deepEqual(seen, [undefined, { id: 'alice', team: 'red' }]);
      },
      { before: cookieLogin },
    );
  });
});

describe('README: identify', () => {
  it('binds sessions by identify(user): same key passes, another key gets 403::Session belongs to another user', async () => {
    await withServer<User>(
      { identify: (user) => user.team },
      async (server) => {
        const alice = new RawClient(server.url, { cookie: 'user=alice.red' });
        await alice.handshake();
        const bob = new RawClient(server.url, { cookie: 'user=bob.red' });
        bob.clientId = alice.clientId;
        assert.equal((await bob.subscribe('/identify/a')).successful, true, 'same team, same key');
        const carol = new RawClient(server.url, { cookie: 'user=carol.blue' });
        carol.clientId = alice.clientId;
        const refused = await carol.subscribe('/identify/a');
        assert.equal(refused.successful, false);
        assert.equal(refused.error, '403::Session belongs to another user');
      },
      { before: cookieLogin },
    );
  });
});

async function preflight(url: string, origin: string): Promise<Response> {
  return fetch(url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
}

describe('README: cors', () => {
  it('sends cors.maxAge on preflights (default 600 s)', async () => {
    await withServer({ cors: { origin: 'https://app.example', maxAge: 60 } }, async (server) => {
      const res = await preflight(server.url, 'https://app.example');
      assert.equal(res.headers.get('access-control-max-age'), '60');
      assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example');
    });
    await withServer({ cors: { origin: 'https://app.example' } }, async (server) => {
      assert.equal((await preflight(server.url, 'https://app.example')).headers.get('access-control-max-age'), '600');
    });
  });

  it('takes a RegExp as cors.origin', async () => {
    await withServer({ cors: { origin: /^https:\/\/[a-z]+\.app\.example$/ } }, async (server) => {
      assert.equal(
        (await preflight(server.url, 'https://eu.app.example')).headers.get('access-control-allow-origin'),
        'https://eu.app.example',
      );
      assert.equal((await preflight(server.url, 'https://evil.example')).headers.get('access-control-allow-origin'), null);
    });
  });

  it('takes a predicate as cors.origin', async () => {
    const asked: string[] = [];
    const origin = (o: string) => {
      asked.push(o);
      return o.endsWith('.trusted.example');
    };
    await withServer({ cors: { origin } }, async (server) => {
      assert.equal(
        (await preflight(server.url, 'https://a.trusted.example')).headers.get('access-control-allow-origin'),
        'https://a.trusted.example',
      );
      assert.equal((await preflight(server.url, 'https://evil.example')).headers.get('access-control-allow-origin'), null);
      assert.ok(asked.includes('https://a.trusted.example') && asked.includes('https://evil.example'));
    });
  });
});

describe('README: advice', () => {
  it('advises a non-zero interval in handshake and connect replies', async () => {
    await withServer({ interval: 250 }, async (server) => {
      const client = new RawClient(server.url);
      const hs = await client.handshake();
      assert.equal(hs.advice?.interval, 250);
      const [connect] = await client.connect(0);
      assert.equal(connect?.advice?.interval, 250);
    });
  });
});

describe('README: 402::Session expired on the wire', () => {
  it('answers a held connect with 402::Session expired and handshake advice when its session expires', async () => {
    await withServer({ timeout: 60_000 }, async (server) => {
      const client = new RawClient(server.url);
      await client.handshake();
      const held = client.connect();
      await until(async () => (await server.bayeux.stats()).held === 1, 'the held connect');
      // What the engine does when it ends a session for lack of connects (e.g. a cluster sweep).
      await server.bayeux.engine.destroySession(client.clientId, 'expired');
      const [reply] = (await bounded(held, 'the answer to the held connect')) as Message[];
      assert.equal(reply?.successful, false);
      assert.equal(reply?.error, '402::Session expired');
      assert.equal(reply?.advice?.reconnect, 'handshake');
    });
  });
});
