/** What happens when a client does not fetch its messages: maxQueue and queuePolicy. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import type { DisconnectEvent, OverflowEvent } from '../../lib/index.js';
import { deliveries, RawClient } from '../helpers/raw-client.js';
import { bounded, startServer, until } from '../helpers/server.js';

describe('the queue policy', () => {
  it("'drop-oldest' keeps the newest maxQueue messages, emits overflow once, and keeps the session", async (t) => {
    const server = await startServer({ maxQueue: 5, queuePolicy: 'drop-oldest' });
    t.after(() => server.close());
    const client = new RawClient(server.url);
    await client.handshake();
    await client.subscribe('/q/a');
    const overflows: OverflowEvent[] = [];
    server.bayeux.on('overflow', (e) => overflows.push(e));
    for (let i = 0; i < 12; i++) await server.bayeux.publish('/q/a', i);
    assert.deepEqual(
      overflows.map((e) => [e.clientId, e.dropped]),
      [[client.clientId, 1]],
    );
    const messages = await client.connect(0);
    assert.deepEqual(
      deliveries(messages).map((m) => m.data),
      [7, 8, 9, 10, 11],
    );
    assert.equal(messages.at(-1)?.successful, true);
  });

  it("'disconnect' (the default) ends the session with reason overflow and tells the client to handshake again", async (t) => {
    const server = await startServer({ maxQueue: 5 });
    t.after(() => server.close());
    const client = new RawClient(server.url);
    await client.handshake();
    await client.subscribe('/q/b');
    const ended = once(server.bayeux, 'disconnect') as Promise<[DisconnectEvent]>;
    for (let i = 0; i < 6; i++) await server.bayeux.publish('/q/b', i);
    const [event] = await ended;
    assert.equal(event.reason, 'overflow');
    assert.equal((await server.bayeux.stats()).sessions, 0);
    const [reply] = await client.connect(0);
    assert.equal(reply?.successful, false);
    assert.equal(reply?.advice?.reconnect, 'handshake');
  });

  it('answers a held connect of an overflowing session with 402::Session ended: message queue overflow (client too slow)', async (t) => {
    const server = await startServer({ maxQueue: 3, timeout: 60_000 });
    t.after(() => server.close());
    const client = new RawClient(server.url);
    await client.handshake();
    await client.subscribe('/q/c');
    await client.connect(0);
    const held = client.connect();
    await until(async () => (await server.bayeux.stats()).held === 1, 'the held connect');
    // Four publishes in one turn of the event loop: the queue passes maxQueue before the held connect is flushed.
    await Promise.all([0, 1, 2, 3].map((i) => server.bayeux.publish('/q/c', i)));
    const [reply] = await bounded(held, 'the answer to the held connect');
    assert.equal(reply?.channel, '/meta/connect');
    assert.equal(reply?.successful, false);
    assert.equal(reply?.error, '402::Session ended: message queue overflow (client too slow)');
    assert.equal(reply?.advice?.reconnect, 'handshake');
    const [after] = await client.connect(0);
    assert.equal(after?.error, '402::Unknown client');
  });
});
