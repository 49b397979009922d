import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Message, PublishEvent } from '../../lib/index.js';
import { deliveries, RawClient } from '../helpers/raw-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('publishing', () => {
  let server: TestServer;
  const published: PublishEvent[] = [];
  before(async () => {
    server = await startServer({ timeout: 100, services: { echo: (m) => m.data } });
    server.bayeux.on('publish', (e) => published.push(e));
  });
  after(() => server.close());

  async function ready(...subscriptions: string[]): Promise<RawClient> {
    const client = new RawClient(server.url);
    await client.handshake();
    if (subscriptions.length > 0) assert.equal((await client.subscribe(subscriptions)).successful, true);
    return client;
  }

  async function received(client: RawClient): Promise<Message[]> {
    return deliveries(await client.connect(0));
  }

  it('acknowledges a publish with channel, successful and id', async () => {
    const client = await ready();
    const reply = await client.request({ channel: '/p/a', clientId: client.clientId, data: 1, id: 'pub-1' });
    assert.deepEqual(reply, { channel: '/p/a', successful: true, id: 'pub-1' });
  });

  it('delivers to exact, * and ** subscribers and not to others', async () => {
    const exact = await ready('/p/b/c');
    const star = await ready('/p/b/*');
    const deep = await ready('/p/**');
    const all = await ready('/**');
    const other = await ready('/p/x', '/p/b/c/*');
    const publisher = await ready();
    await publisher.publish('/p/b/c', 'hello', { id: 'm1' });
    for (const client of [exact, star, deep, all]) {
      assert.deepEqual(await received(client), [{ channel: '/p/b/c', data: 'hello', id: 'm1' }]);
    }
    assert.deepEqual(await received(other), []);
  });

  it('delivers a message once to a client with several matching subscriptions', async () => {
    const client = await ready('/p/d/e', '/p/d/*', '/p/**', '/**');
    await (await ready()).publish('/p/d/e', 'once');
    assert.equal((await received(client)).length, 1);
  });

  it('keeps publish order, within one batch and across requests', async () => {
    const client = await ready('/p/order/*');
    const publisher = await ready();
    await publisher.send(Array.from({ length: 20 }, (_, i) => ({ channel: `/p/order/${i % 2}`, clientId: publisher.clientId, data: i })));
    for (let i = 20; i < 40; i++) await publisher.publish(`/p/order/${i % 2}`, i);
    assert.deepEqual(
      (await received(client)).map((m) => m.data),
      Array.from({ length: 40 }, (_, i) => i),
    );
  });

  it('delivers the publisher its own message when it is subscribed', async () => {
    const client = await ready('/p/self');
    await client.publish('/p/self', 'me');
    assert.deepEqual(
      (await received(client)).map((m) => m.data),
      ['me'],
    );
  });

  it('forwards neither the publisher clientId nor its ext to subscribers', async () => {
    const listener = await ready('/p/secret');
    const publisher = await ready();
    await publisher.publish('/p/secret', 'x', { ext: { token: 's3cret' } });
    const [message] = await received(listener);
    assert.equal(message?.clientId, undefined);
    assert.equal(message?.ext, undefined);
    const event = published.find((e) => e.channel === '/p/secret');
    assert.equal(event?.clientId, publisher.clientId);
    assert.deepEqual(event?.ext, { token: 's3cret' });
  });

  it('refuses publishing to wildcards, invalid names and meta channels', async () => {
    const client = await ready();
    assert.equal((await client.publish('/p/*', 1)).error, '405:/p/*:Invalid channel');
    assert.equal((await client.publish('/p/**', 1)).error, '405:/p/**:Invalid channel');
    assert.equal((await client.publish('/p/a b', 1)).error, '405:/p/a b:Invalid channel');
    assert.deepEqual(await client.request({ channel: '/meta/custom', clientId: client.clientId, data: 1, id: 'm' }), {
      channel: '/meta/custom',
      successful: false,
      id: 'm',
      error: '404:/meta/custom:Unknown channel',
    });
  });

  it('refuses a publish without data', async () => {
    const client = await ready();
    const reply = await client.request({ channel: '/p/nodata', clientId: client.clientId, id: 'n' });
    assert.equal(reply.error, '400:data:Missing required parameter');
  });

  it('never lets meta or service messages reach remote subscribers, not even /**', async () => {
    const all = await ready('/**');
    const client = await ready('/p/x');
    await client.request({ channel: '/service/echo', clientId: client.clientId, data: 'private', id: 'svc' });
    await client.subscribe('/p/y');
    await client.publish('/p/z', 'public');
    assert.deepEqual(
      (await received(all)).map((m) => m.channel),
      ['/p/z'],
    );
  });

  it('refuses publishes without a handshake unless anonPublish is set', async () => {
    const reply = await new RawClient(server.url).request({ channel: '/p/anon', data: 1, id: 'a' });
    assert.equal(reply.error, '400:clientId:Missing required parameter');
    assert.equal(reply.advice?.reconnect, 'handshake');
  });

  it('tells a clientId that is not a string from a missing one', async () => {
    const reply = await new RawClient(server.url).request({ channel: '/p/anon', clientId: 5, data: 1, id: 'n' } as unknown as Message);
    assert.equal(reply.error, '400:clientId:Invalid parameter');
    assert.equal(reply.advice?.reconnect, 'handshake');
  });
});

describe('anonymous publishing', () => {
  it('accepts publishes without clientId when anonPublish is on', async (t) => {
    const server = await startServer({ anonPublish: true });
    t.after(() => server.close());
    const listener = new RawClient(server.url);
    await listener.handshake();
    await listener.subscribe('/anon/a');
    const reply = await new RawClient(server.url).request({ channel: '/anon/a', data: 'hi', id: 'x' });
    assert.equal(reply.successful, true);
    assert.deepEqual(deliveries(await listener.connect(0)), [{ channel: '/anon/a', data: 'hi', id: 'x' }]);
    const forged = await new RawClient(server.url).request({ channel: '/anon/a', clientId: 'forged', data: 1, id: 'y' });
    assert.equal(forged.error, '402::Unknown client');
  });
});
