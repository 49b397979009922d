import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SubscriptionEvent } from '../../lib/index.js';
import { recordingLogger } from '../helpers/logger.js';
import { RawClient } from '../helpers/raw-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('/meta/subscribe and /meta/unsubscribe', () => {
  let server: TestServer;
  const events: [string, SubscriptionEvent][] = [];
  before(async () => {
    server = await startServer({
      timeout: 100,
      messageACL: (_client, message) => (message.subscription === '/private/area' ? 'members only' : true),
    });
    server.bayeux.on('subscribe', (e) => events.push(['subscribe', e]));
    server.bayeux.on('unsubscribe', (e) => events.push(['unsubscribe', e]));
  });
  after(() => server.close());

  async function ready(): Promise<RawClient> {
    const client = new RawClient(server.url);
    await client.handshake();
    return client;
  }

  it('subscribes to one channel and echoes subscription, clientId and id', async () => {
    const client = await ready();
    const reply = await client.request({ channel: '/meta/subscribe', clientId: client.clientId, subscription: '/s/a', id: 'sub-1' });
    assert.deepEqual(reply, { channel: '/meta/subscribe', successful: true, id: 'sub-1', clientId: client.clientId, subscription: '/s/a' });
  });

  it('subscribes to an array of channels and patterns at once', async () => {
    const client = await ready();
    const reply = await client.subscribe(['/s/b', '/s/c/*', '/s/d/**']);
    assert.equal(reply.successful, true);
    assert.deepEqual(reply.subscription, ['/s/b', '/s/c/*', '/s/d/**']);
  });

  it('refuses invalid channel names with 405, and the whole array with them', async () => {
    const client = await ready();
    const bad = await client.subscribe('/s/**/x');
    assert.equal(bad.successful, false);
    assert.equal(bad.error, '405:/s/**/x:Invalid channel');
    assert.equal(bad.subscription, '/s/**/x');
    const mixed = await client.subscribe(['/s/ok', 'no-slash']);
    assert.equal(mixed.error, '405:no-slash:Invalid channel');
    await server.bayeux.publish('/s/ok', 'should not arrive');
    const [reply, ...rest] = await client.connect(0);
    assert.equal(reply?.channel, '/meta/connect');
    assert.equal(rest.length, 0);
    const unsubscribed = await client.unsubscribe(['/s/ok', '/s/**/x']);
    assert.equal(unsubscribed.successful, false);
    assert.equal(unsubscribed.error, '405:/s/**/x:Invalid channel');
    assert.deepEqual(unsubscribed.subscription, ['/s/ok', '/s/**/x']);
  });

  it('refuses meta and service channels with 403', async () => {
    const client = await ready();
    assert.equal((await client.subscribe('/meta/connect')).error, '403:/meta/connect:Forbidden channel');
    assert.equal((await client.subscribe('/meta/**')).error, '403:/meta/**:Forbidden channel');
    assert.equal((await client.subscribe('/service/echo')).error, '403:/service/echo:Forbidden channel');
  });

  it('refuses a missing or malformed subscription field', async () => {
    const client = await ready();
    const missing = await client.request({ channel: '/meta/subscribe', clientId: client.clientId, id: 'm' });
    assert.equal(missing.error, '400:subscription:Missing required parameter');
    const wrong = await client.request({
      channel: '/meta/subscribe',
      clientId: client.clientId,
      subscription: 42 as unknown as string,
      id: 'w',
    });
    assert.equal(wrong.error, '400:subscription:Invalid parameter');
    const unsubscribeMissing = await client.request({ channel: '/meta/unsubscribe', clientId: client.clientId, id: 'u' });
    assert.equal(unsubscribeMissing.error, '400:subscription:Missing required parameter');
    const unsubscribeWrong = await client.request({ channel: '/meta/unsubscribe', clientId: client.clientId, subscription: [], id: 'v' });
    assert.equal(unsubscribeWrong.error, '400:subscription:Invalid parameter');
  });

  it('passes the ACL refusal reason through', async () => {
    const client = await ready();
    const reply = await client.subscribe('/private/area');
    assert.equal(reply.successful, false);
    assert.equal(reply.error, '403:/private/area:members only');
  });

  it('emits subscribe and unsubscribe once per channel actually added or removed', async () => {
    const client = await ready();
    const mine = () => events.filter(([, e]) => e.clientId === client.clientId).map(([kind, e]) => `${kind} ${e.channel}`);
    await client.subscribe(['/s/e', '/s/f']);
    await client.subscribe('/s/e');
    await client.unsubscribe(['/s/e', '/s/never']);
    assert.deepEqual(mine(), ['subscribe /s/e', 'subscribe /s/f', 'unsubscribe /s/e']);
  });

  it('logs at debug level the channels actually added or removed, and nothing for no change', async () => {
    const logger = recordingLogger();
    const logged = await startServer({ logger });
    try {
      const client = new RawClient(logged.url);
      await client.handshake();
      await client.subscribe(['/s/e', '/s/f']);
      await client.subscribe('/s/e');
      await client.unsubscribe(['/s/e', '/s/never']);
      await client.unsubscribe('/s/never');
      const clientId = client.clientId;
      assert.deepEqual(
        logger.lines.debug.filter(([, msg]) => /subscribe$/.test(msg ?? '')),
        [
          [{ clientId, channels: ['/s/e', '/s/f'] }, 'express-bayeux: subscribe'],
          [{ clientId, channels: ['/s/e'] }, 'express-bayeux: unsubscribe'],
        ],
      );
    } finally {
      await logged.close();
    }
  });

  it('succeeds when unsubscribing from a channel never subscribed', async () => {
    const client = await ready();
    const reply = await client.unsubscribe('/s/nothing');
    assert.equal(reply.successful, true);
    assert.equal(reply.subscription, '/s/nothing');
  });

  it('stops deliveries after unsubscribe', async () => {
    const client = await ready();
    await client.subscribe('/s/g');
    await client.unsubscribe('/s/g');
    await server.bayeux.publish('/s/g', 1);
    const messages = await client.connect(0);
    assert.equal(messages.length, 1);
  });

  it('refuses subscribe from an unknown client with 402, echoing the subscription', async () => {
    const client = new RawClient(server.url);
    client.clientId = 'unknown';
    const reply = await client.subscribe('/s/h');
    assert.equal(reply.error, '402::Unknown client');
    assert.equal(reply.subscription, '/s/h');
    assert.equal(reply.advice?.reconnect, 'handshake');
    assert.equal(reply.clientId, 'unknown');
    const unsubscribed = await client.unsubscribe('/s/h');
    assert.equal(unsubscribed.error, '402::Unknown client');
    assert.equal(unsubscribed.subscription, '/s/h');
  });
});
