/** The real Faye client against our server, over long-polling and WebSocket. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import faye, { type Client as FayeClient } from 'faye';
import { callback, startServer, type TestServer, until } from '../helpers/server.js';

type Transport = 'long-polling' | 'websocket';

/**
 * A Faye client pinned to one transport, connected (its first /meta/connect
 * sent). Wrapped in an array: a Faye client is a thenable, which `await` would unwrap.
 */
async function fayeClient(url: string, transport: Transport): Promise<[FayeClient]> {
  const client = new faye.Client(url, { timeout: 5 });
  client.disable('autodisconnect');
  if (transport === 'long-polling') client.disable('websocket');
  await callback<void>((done) => client.connect(() => done()), 'the Faye connect');
  await until(() => client._dispatcher.connectionType !== undefined, 'a Faye transport');
  return [client];
}

for (const transport of ['long-polling', 'websocket'] as const) {
  describe(`Faye client over ${transport}`, () => {
    let server: TestServer;
    const clients: FayeClient[] = [];
    before(async () => {
      server = await startServer(
        { messageACL: (_client, message) => (message.channel === '/forbidden' ? 'No posting here' : true) },
        // Attached in both cases: long-polling then takes the poll lane.
        { websocket: true },
      );
    });
    after(async () => {
      try {
        for (const c of clients) c.disconnect();
        await until(async () => (await server.bayeux.stats()).sessions === 0, 'every Faye session to end');
      } finally {
        await server.close();
      }
    });
    async function client(): Promise<[FayeClient]> {
      const [c] = await fayeClient(server.url, transport);
      clients.push(c);
      return [c];
    }

    it(`connects with connectionType ${transport}`, async () => {
      const [c] = await client();
      assert.equal(c._dispatcher.connectionType, transport);
      const clientId = c._dispatcher.clientId;
      assert.ok(clientId);
      assert.equal((await server.bayeux.stats()).sessions >= 1, true);
    });

    it('subscribes, publishes and receives', async () => {
      const [listener] = await client();
      const [publisher] = await client();
      const received: unknown[] = [];
      await listener.subscribe('/faye/a', (data) => received.push(data));
      await publisher.publish('/faye/a', { text: 'hello' });
      await until(() => received.length === 1, 'the delivery');
      assert.deepEqual(received, [{ text: 'hello' }]);
    });

    it('receives through wildcards once, and nothing after cancelling', async () => {
      const [listener] = await client();
      const [publisher] = await client();
      const received: unknown[] = [];
      const star = listener.subscribe('/faye/w/*', (data) => received.push(data));
      await star;
      await publisher.publish('/faye/w/x', 1);
      await until(() => received.length === 1, 'the wildcard delivery');
      star.cancel();
      const marker: unknown[] = [];
      await listener.subscribe('/faye/marker', (data) => marker.push(data));
      await publisher.publish('/faye/w/x', 2);
      await publisher.publish('/faye/marker', 'end');
      await until(() => marker.length === 1, 'the marker');
      assert.deepEqual(received, [1]);
    });

    it('keeps the order of 200 messages from one publisher', async () => {
      const [listener] = await client();
      const [publisher] = await client();
      const received: number[] = [];
      await listener.subscribe('/faye/order', (data) => received.push(data as number));
      for (let i = 0; i < 200; i++) publisher.publish('/faye/order', i);
      await until(() => received.length === 200, '200 deliveries', 20_000);
      assert.deepEqual(received, [...Array(200).keys()]);
    });

    it('rejects a publish refused by the ACL with the reason', async () => {
      const [c] = await client();
      await assert.rejects(Promise.resolve(c.publish('/forbidden', 'x')), (error: { code?: number; message?: string }) => {
        assert.equal(error.code, 403);
        assert.equal(error.message, 'No posting here');
        return true;
      });
    });

    it('passes ext through its extensions to the server', async () => {
      const [c] = await client();
      c.addExtension({
        outgoing(message, callback) {
          if (message.channel === '/faye/ext') message.ext = { token: 't-1' };
          callback(message);
        },
      });
      const seen = callback((done) => server.bayeux.once('publish', (e) => done(e.ext)), 'the publish event');
      await c.publish('/faye/ext', 'x');
      assert.deepEqual(await seen, { token: 't-1' });
    });
  });
}
