import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DisconnectEvent } from '../../lib/index.js';
import { fakeTime } from '../helpers/clock.js';
import { RawClient } from '../helpers/raw-client.js';
import { bounded, startServer, until } from '../helpers/server.js';

describe('sessions', () => {
  it('expire after maxInterval without a connect, not before, with a disconnect event', async (t) => {
    const time = fakeTime(t);
    const server = await startServer({ maxInterval: 10_000 });
    t.after(() => server.close());
    const ended: DisconnectEvent[] = [];
    server.bayeux.on('disconnect', (e) => ended.push(e));
    const client = new RawClient(server.url, {}, 'http');
    await client.handshake();
    time.tick(10_000);
    assert.equal((await server.bayeux.stats()).sessions, 1, 'the session lives maxInterval');
    assert.deepEqual(ended, []);
    // The sweep runs every maxInterval / 4, at most every second: the next one ends it.
    time.tick(1000);
    await until(() => ended.length === 1, 'the expiry');
    assert.deepEqual(ended[0], { clientId: client.clientId, ip: '127.0.0.1', user: undefined, data: {}, reason: 'expired' });
    const [reply] = await client.connect(0);
    assert.equal(reply?.error, '402::Unknown client');
    assert.equal(reply?.advice?.reconnect, 'handshake');
  });

  it('do not expire while a connect is held', async (t) => {
    const time = fakeTime(t);
    const server = await startServer({ maxInterval: 10_000, timeout: 60_000 });
    t.after(() => server.close());
    const ended: DisconnectEvent[] = [];
    server.bayeux.on('disconnect', (e) => ended.push(e));
    const held = new RawClient(server.url, {}, 'http');
    await held.handshake();
    const idle = new RawClient(server.url, {}, 'http');
    await idle.handshake();
    const answer = held.connect();
    await until(async () => (await server.bayeux.stats()).held === 1, 'the held connect');
    time.tick(30_000);
    await until(() => ended.some((e) => e.clientId === idle.clientId), 'the idle session to expire');
    assert.equal(
      ended.some((e) => e.clientId === held.clientId),
      false,
    );
    assert.equal((await server.bayeux.stats()).sessions, 1);
    time.tick(30_000);
    const [reply] = await bounded(answer, 'the connect answered at the hold timeout');
    assert.equal(reply?.successful, true);
    assert.equal((await server.bayeux.stats()).sessions, 1, 'the session lives on after its connect is answered');
  });

  it('answer the held connect of a session the server ends with handshake advice', async (t) => {
    const server = await startServer({ timeout: 10_000 });
    t.after(() => server.close());
    const client = new RawClient(server.url);
    await client.handshake();
    const answer = client.connect();
    await until(async () => (await server.bayeux.stats()).held === 1, 'held connect');
    await server.bayeux.disconnect(client.clientId);
    const [reply] = await answer;
    assert.equal(reply?.successful, false);
    assert.equal(reply?.error, '402::Unknown client');
    assert.equal(reply?.advice?.reconnect, 'handshake');
  });

  it('keep the user seen at handshake and hand it to the ACL and events later', async (t) => {
    const seen: unknown[] = [];
    const server = await startServer<{ id: string }>(
      {
        messageACL: (client, message, ctx) => {
          if (message.channel === '/u/a') seen.push([client?.user, ctx.user]);
          return true;
        },
      },
      {
        before(app) {
          app.use((req, _res, next) => {
            (req as { user?: unknown }).user = { id: 'ann' };
            next();
          });
        },
      },
    );
    t.after(() => server.close());
    const connects: unknown[] = [];
    server.bayeux.on('connect', (e) => connects.push(e.user));
    const client = new RawClient(server.url);
    await client.handshake();
    await client.connect(0);
    await client.publish('/u/a', 1);
    assert.deepEqual(connects, [{ id: 'ann' }]);
    assert.deepEqual(seen, [[{ id: 'ann' }, { id: 'ann' }]]);
  });
});
