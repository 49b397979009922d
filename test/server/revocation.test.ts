/** server.disconnectUser(): signing a user out ends their Bayeux sessions everywhere. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BayeuxClient, type BayeuxClientError } from '../../lib/client/index.js';
import { type DisconnectEvent, parseBayeuxError } from '../../lib/index.js';
import { headerLogin, nextEvent, type TestUser } from '../helpers/login.js';
import { RawClient } from '../helpers/raw-client.js';
import { until, withServer } from '../helpers/server.js';

describe('server.disconnectUser()', () => {
  it("ends only that user's sessions, answers their held connect with 401 and handshake advice, and counts them", async () => {
    const signedOut = new Set<string>();
    await withServer<TestUser>(
      {},
      async (server) => {
        const ended: DisconnectEvent<TestUser>[] = [];
        server.bayeux.on('disconnect', (e) => ended.push(e));
        const alice1 = new RawClient(server.url, { 'x-user': 'alice' });
        const alice2 = new RawClient(server.url, { 'x-user': 'alice' });
        const bob = new RawClient(server.url, { 'x-user': 'bob' });
        for (const c of [alice1, alice2, bob]) {
          await c.handshake();
          await c.connect(0);
        }
        const held = alice1.connect();
        await until(async () => (await server.bayeux.stats()).held === 1, 'the held connect');
        assert.equal(await server.bayeux.disconnectUser({ id: 'alice' }), 2);
        const [reply] = await held;
        assert.equal(reply?.successful, false);
        assert.deepEqual(parseBayeuxError(reply?.error ?? ''), {
          code: 401,
          args: ['revoked'],
          message: 'Session revoked: the user was signed out',
        });
        assert.equal(reply?.advice?.reconnect, 'handshake');
        assert.deepEqual(ended.map((e) => [e.user?.id, e.reason]).sort(), [
          ['alice', 'revoked'],
          ['alice', 'revoked'],
        ]);
        assert.equal((await bob.publish('/still/here', 1)).error, undefined);
        assert.equal(await server.bayeux.disconnectUser({ id: 'alice' }), 0);
      },
      { before: (app) => app.use(headerLogin(signedOut)) },
    );
  });

  it('tells our client, which handshakes again through the host login', async () => {
    const signedOut = new Set<string>();
    await withServer<TestUser>(
      {
        messageACL: (_client, message, ctx) =>
          message.channel !== '/meta/subscribe' || message.subscription !== '/private' || ctx.user !== undefined || 'Log in first',
      },
      async (server) => {
        const client = new BayeuxClient(server.url, { transports: ['long-polling'], headers: { 'x-user': 'carol' } });
        try {
          await client.connect();
          await client.subscribe('/private', () => {});
          const first = client.clientId;
          // The revocation reaches the client on its held connect; between two polls its next one would be told
          // only "unknown client" (402) and handshake again without a 'revoked' event.
          await until(async () => (await server.bayeux.stats()).held === 1, 'the connect to be held');
          const revoked = nextEvent(client, 'revoked');
          assert.equal(await server.bayeux.disconnectUser({ id: 'carol' }), 1);
          signedOut.add('carol');
          const [error] = await revoked;
          assert.equal(error.code, 401);
          await until(() => client.state === 'connected' && client.clientId !== first, 'the new handshake');
        } finally {
          await client.disconnect();
        }
      },
      { before: (app) => app.use(headerLogin(signedOut)) },
    );
  });

  it('tells our client at its next request when its login ended without a revocation; it handshakes again at once', async () => {
    const signedOut = new Set<string>();
    await withServer<TestUser>(
      {
        // Held far longer than the test waits: the new handshake cannot come from the poll's end.
        timeout: 120_000,
        messageACL: (_client, message, ctx) =>
          message.channel !== '/meta/subscribe' || message.subscription !== '/private' || ctx.user !== undefined || 'Log in first',
      },
      async (server) => {
        const client = new BayeuxClient(server.url, { transports: ['long-polling'], headers: { 'x-user': 'erin' } });
        const errors: BayeuxClientError[] = [];
        client.on('error', (e) => errors.push(e));
        try {
          await client.connect();
          await client.subscribe('/private', () => {});
          await client.subscribe('/public', () => {});
          const first = client.clientId;
          await until(async () => (await server.bayeux.stats()).held === 1, 'the connect to be held');
          // Logged out by the host, e.g. while the client handshook again after a revocation: the session is erin's.
          signedOut.add('erin');
          await assert.rejects(
            client.subscribe('/later', () => {}),
            (e: BayeuxClientError) => e.code === 403,
          );
          await until(() => client.state === 'connected' && client.clientId !== first, 'the new handshake');
          await until(
            async () => (await server.bayeux.presence('/public')).some((e) => e.clientId === client.clientId),
            '/public restored',
          );
          // /private is not restored for an anonymous session, and the client says so. (The abandoned session
          // is still there until it expires: nothing the client sends for it is taken any more.)
          await until(() => errors.some((e) => e.code === 403 && e.message === 'Log in first'), 'the refused restore reported');
          const onPrivate = (await server.bayeux.presence('/private')).map((e) => e.clientId);
          assert.deepEqual(onPrivate, [first]);
        } finally {
          await client.disconnect();
        }
      },
      { before: (app) => app.use(headerLogin(signedOut)) },
    );
  });

  it('refuses a missing user with a TypeError', async () => {
    await withServer({}, async (server) => {
      await assert.rejects(server.bayeux.disconnectUser(undefined), TypeError);
    });
  });
});
