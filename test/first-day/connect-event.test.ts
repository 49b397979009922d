/**
 * The `connect` event reports the transport the client actually holds (issue
 * 12, item 8), and `websocket` is offered only once `attach()` was called (item 5).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BayeuxClient } from '../../lib/client/index.js';
import type { ConnectEvent } from '../../lib/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { startServer } from '../helpers/server.js';

describe('the connect event', () => {
  it('says websocket for a client that handshook over HTTP and then holds a WebSocket', async (t) => {
    const server = await startServer({}, { websocket: true });
    t.after(() => server.close());
    const events: ConnectEvent[] = [];
    server.bayeux.on('connect', (e) => events.push(e));
    const client = new BayeuxClient(server.url);
    t.after(() => client.disconnect());
    await client.connect();
    assert.equal(client.transport, 'websocket');
    assert.deepEqual(
      events.map((e) => [e.clientId, e.transport]),
      [[client.clientId, 'websocket']],
    );
  });
});

describe('offering websocket', () => {
  it('is done only once the server is attached', async (t) => {
    const server = await startServer();
    t.after(() => server.close());
    const before = await new RawClient(server.url).handshake();
    assert.deepEqual(before.supportedConnectionTypes, ['long-polling', 'callback-polling']);
    server.bayeux.attach(server.http);
    const after = await new RawClient(server.url).handshake();
    assert.deepEqual(after.supportedConnectionTypes, ['websocket', 'long-polling', 'callback-polling']);
  });
});
