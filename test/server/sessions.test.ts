import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import type { DisconnectEvent } from '../../lib/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { startServer, until } from '../helpers/server.js';

describe('sessions', () => {
  it('expire after maxInterval without a connect, with a disconnect event', async (t) => {
    const server = await startServer({ maxInterval: 100 });
    t.after(() => server.close());
    const client = new RawClient(server.url);
    await client.handshake();
    const [event] = (await once(server.bayeux, 'disconnect')) as [DisconnectEvent];
    assert.deepEqual(event, { clientId: client.clientId, ip: '127.0.0.1', user: undefined, data: {}, reason: 'expired' });
    const [reply] = await client.connect(0);
    assert.equal(reply?.error, '402::Unknown client');
    assert.equal(reply?.advice?.reconnect, 'handshake');
  });

  it('do not expire while a connect is held', async (t) => {
    const server = await startServer({ maxInterval: 50, timeout: 400 });
    t.after(() => server.close());
    const ended: DisconnectEvent[] = [];
    server.bayeux.on('disconnect', (e) => ended.push(e));
    const held = new RawClient(server.url);
    await held.handshake();
    const idle = new RawClient(server.url);
    await idle.handshake();
    const answer = held.connect();
    await until(() => ended.some((e) => e.clientId === idle.clientId), 'the idle session to expire');
    const [reply] = await answer;
    assert.equal(reply?.successful, true);
    assert.equal(
      ended.some((e) => e.clientId === held.clientId),
      false,
    );
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
    await client.publish('/u/a', 1);
    assert.deepEqual(connects, [{ id: 'ann' }]);
    assert.deepEqual(seen, [[{ id: 'ann' }, { id: 'ann' }]]);
  });
});
