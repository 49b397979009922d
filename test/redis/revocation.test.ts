/** Signing a user out on one node of a Redis cluster ends their sessions on every node. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BayeuxClient } from '../../lib/client/index.js';
import { type DisconnectEvent, parseBayeuxError } from '../../lib/index.js';
import { headerLogin, nextEvent, type TestUser } from '../helpers/login.js';
import { RawClient } from '../helpers/raw-client.js';
import { dropNamespace, redisMissing, testEngine, testNamespace } from '../helpers/redis.js';
import { startServer, type TestServer, until } from '../helpers/server.js';

const missing = await redisMissing();

describe('server.disconnectUser() with the Redis engine', { skip: missing }, () => {
  const namespace = testNamespace('revoke');
  const signedOut = new Set<string>();
  let nodes: TestServer<TestUser>[] = [];
  const clients: BayeuxClient[] = [];
  before(async () => {
    nodes = await Promise.all(
      [0, 1].map(() =>
        startServer<TestUser>(
          {
            engine: testEngine(namespace),
            // Anonymous clients may handshake, but not read /private.
            messageACL: (_client, message, ctx) =>
              message.channel !== '/meta/subscribe' || message.subscription !== '/private' || ctx.user !== undefined || 'Log in first',
            sessionExpiry: (_client, message) => (message.ext?.token === 'short' ? Date.now() + 3000 : undefined),
          },
          { websocket: true, before: (app) => app.use(headerLogin(signedOut)) },
        ),
      ),
    );
    for (const node of nodes) node.bayeux.useOnUpgrade(headerLogin(signedOut));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.disconnect()));
    await Promise.all(nodes.map((n) => n.close()));
    await dropNamespace(namespace);
  });

  it("stops a signed-out user's long-polling and WebSocket clients on two nodes within one poll; both handshake again", async () => {
    const [a, b] = nodes as [TestServer<TestUser>, TestServer<TestUser>];
    const polling = new BayeuxClient(a.url, { transports: ['long-polling'], headers: { 'x-user': 'dave' } });
    const socket = new BayeuxClient(b.url, { transports: ['websocket'], headers: { 'x-user': 'dave' } });
    clients.push(polling, socket);
    const got: string[][] = [[], []];
    for (const [i, client] of [polling, socket].entries()) {
      await client.connect();
      await client.subscribe('/private', (m) => got[i]?.push(String(m.data)));
      await client.subscribe('/public', (m) => got[i]?.push(String(m.data)));
    }
    assert.equal(socket.transport, 'websocket');
    await a.bayeux.publish('/private', 'before');
    await until(() => got.every((g) => g.includes('before')), 'the first delivery');

    const firstIds = [polling.clientId, socket.clientId];
    const revoked = [nextEvent(polling, 'revoked'), nextEvent(socket, 'revoked')];
    // The default poll is held 30 s: the clients hear of it long before their poll would end.
    const started = Date.now();
    assert.equal(await a.bayeux.disconnectUser({ id: 'dave' }), 2);
    // As the example's logout route does: end the sessions, then the login (no I/O runs in between).
    signedOut.add('dave');
    await Promise.all(revoked);
    assert.ok(Date.now() - started < 30_000);
    await until(
      () => [polling, socket].every((c, i) => c.state === 'connected' && c.clientId !== firstIds[i]),
      'both clients handshaken again',
      15_000,
    );

    // Their subscriptions are restored by the new sessions (a poll may be answered before the subscribe is).
    await until(
      async () => {
        const present = (await b.bayeux.presence('/public')).map((e) => e.clientId);
        return [polling, socket].every((c) => present.includes(c.clientId as string));
      },
      'the restored subscriptions',
      15_000,
    );
    // In publish order: had "secret" reached a client, it would arrive before "after".
    await b.bayeux.publish('/private', 'secret');
    await b.bayeux.publish('/public', 'after');
    await until(() => got.every((g) => g.includes('after')), 'the public delivery', 15_000);
    assert.deepEqual(got, [
      ['before', 'after'],
      ['before', 'after'],
    ]);
  });

  it('ends a session whose credentials expired, held on the other node, once in the cluster', async () => {
    const [a, b] = nodes as [TestServer<TestUser>, TestServer<TestUser>];
    const ended: DisconnectEvent<TestUser>[] = [];
    for (const node of nodes) node.bayeux.on('disconnect', (e) => ended.push(e));
    const client = new RawClient(a.url);
    assert.equal((await client.handshake({ ext: { token: 'short' } })).successful, true);
    const moved = new RawClient(b.url);
    moved.clientId = client.clientId;
    await moved.connect(0);
    const [reply] = await moved.connect();
    assert.equal(parseBayeuxError(reply?.error ?? '').code, 401);
    assert.equal(reply?.advice?.reconnect, 'handshake');
    await until(() => ended.some((e) => e.clientId === client.clientId), 'the disconnect event');
    assert.deepEqual(
      ended.filter((e) => e.clientId === client.clientId).map((e) => e.reason),
      ['credentials-expired'],
    );
  });
});
