import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import type { DisconnectEvent } from '../../lib/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { startServer, until } from '../helpers/server.js';

describe('server events', () => {
  it('emits connect, subscribe, publish, unsubscribe and disconnect with their payloads', async (t) => {
    const server = await startServer();
    t.after(() => server.close());
    const log: string[] = [];
    const b = server.bayeux;
    b.on('connect', (e) => log.push(`connect ${e.transport} ${e.ip}`));
    b.on('subscribe', (e) => log.push(`subscribe ${e.channel}`));
    b.on('publish', (e) => log.push(`publish ${e.channel} ${JSON.stringify(e.data)} ${e.id}`));
    b.on('unsubscribe', (e) => log.push(`unsubscribe ${e.channel}`));
    b.on('disconnect', (e) => log.push(`disconnect ${e.reason}`));
    const client = new RawClient(server.url);
    await client.handshake();
    await client.connect(0);
    await client.subscribe('/ev/a');
    await client.request({ channel: '/ev/a', clientId: client.clientId, data: { x: 1 }, id: 'p1' });
    await client.unsubscribe('/ev/a');
    await client.disconnect();
    assert.deepEqual(log, [
      'connect long-polling 127.0.0.1',
      'subscribe /ev/a',
      'publish /ev/a {"x":1} p1',
      'unsubscribe /ev/a',
      'disconnect client',
    ]);
  });

  it('keeps the protocol working when a listener throws or rejects', async (t) => {
    const errors: [unknown, string][] = [];
    const server = await startServer({
      logger: { debug() {}, info() {}, warn() {}, error: (o: unknown, msg: string) => errors.push([o, msg]) },
    });
    t.after(() => server.close());
    server.bayeux.on('publish', () => {
      throw new Error('listener bug');
    });
    server.bayeux.on('subscribe', async () => {
      throw new Error('async listener bug');
    });
    const client = new RawClient(server.url);
    await client.handshake();
    assert.equal((await client.subscribe('/ev/b')).successful, true);
    assert.equal((await client.publish('/ev/b', 1)).successful, true);
    const [reply, delivered] = [...(await client.connect(0))].reverse();
    assert.equal(reply?.successful, true);
    assert.equal(delivered?.data, 1);
    await until(() => errors.length === 2, 'both failures logged');
    const logged = errors.map(([o, msg]) => [(o as { err: Error }).err.message, (o as { event?: string }).event, msg]);
    assert.deepEqual(logged, [
      ['async listener bug', 'subscribe', 'express-bayeux: a "subscribe" listener rejected'],
      ['listener bug', 'publish', 'express-bayeux: a "publish" listener threw'],
    ]);
  });

  it('emits disconnect with reason server when the application ends a session', async (t) => {
    const server = await startServer();
    t.after(() => server.close());
    const client = new RawClient(server.url);
    await client.handshake();
    const ended = once(server.bayeux, 'disconnect') as Promise<[DisconnectEvent]>;
    assert.equal(await server.bayeux.disconnect(client.clientId), true);
    assert.equal((await ended)[0].reason, 'server');
    assert.equal(await server.bayeux.disconnect(client.clientId), false);
  });
});
