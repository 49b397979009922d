import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fakeTime } from '../helpers/clock.js';
import { deliveries, RawClient } from '../helpers/raw-client.js';
import { bounded, startServer, type TestServer, until } from '../helpers/server.js';

async function held(server: TestServer, count: number): Promise<void> {
  await until(async () => (await server.bayeux.stats()).held === count, `${count} held connect(s)`);
}

describe('/meta/connect', () => {
  let server: TestServer;
  // Far longer than any test waits: a connect answered early was not held.
  const TIMEOUT = 60_000;
  before(async () => {
    server = await startServer({ timeout: TIMEOUT });
  });
  after(() => server.close());

  async function ready(): Promise<RawClient> {
    const client = new RawClient(server.url);
    await client.handshake();
    return client;
  }

  it('answers at once when the client asks for timeout 0 (CometD first connect)', async () => {
    const client = await ready();
    const [reply] = await client.connect(0);
    assert.equal(reply?.channel, '/meta/connect');
    assert.equal(reply?.successful, true);
    assert.equal(reply?.clientId, client.clientId);
    assert.deepEqual(reply?.advice, { reconnect: 'retry', interval: 0, timeout: TIMEOUT, maxInterval: 30000 });
  });

  it('holds the connect until a message arrives, then answers with it first', async () => {
    const client = await ready();
    await client.subscribe('/hold/a');
    const answer = client.connect();
    await held(server, 1);
    const publisher = await ready();
    await publisher.publish('/hold/a', { n: 1 });
    const messages = await answer;
    assert.deepEqual(messages[0], { channel: '/hold/a', data: { n: 1 }, id: messages[0]?.id });
    assert.equal(messages[1]?.channel, '/meta/connect');
    assert.equal(messages[1]?.successful, true);
  });

  it('delivers at once what was queued between two connects, batched in one response', async () => {
    const client = await ready();
    await client.subscribe('/hold/b');
    const publisher = await ready();
    for (let i = 0; i < 5; i++) await publisher.publish('/hold/b', i);
    const messages = await client.connect();
    assert.deepEqual(
      deliveries(messages).map((m) => m.data),
      [0, 1, 2, 3, 4],
    );
  });

  it('answers the first held connect when the same client sends a second one', async () => {
    const client = await ready();
    const first = client.connect();
    await held(server, 1);
    const second = client.connect();
    const firstMessages = await bounded(first, 'the first connect answered by the second');
    assert.equal(firstMessages.length, 1);
    assert.equal(firstMessages[0]?.successful, true);
    await held(server, 1);
    await client.disconnect();
    assert.equal((await bounded(second, 'the second connect'))[0]?.advice?.reconnect, 'none');
  });

  it('does not hold a connect that shares its request with other messages', async () => {
    const client = await ready();
    const res = await bounded(
      client.send([
        { channel: '/meta/subscribe', clientId: client.clientId, subscription: '/hold/c', id: 's' },
        { channel: '/meta/connect', clientId: client.clientId, connectionType: 'long-polling', id: 'c' },
      ]),
      'an answer without the hold',
    );
    assert.deepEqual(
      res.messages.map((m) => [m.channel, m.successful]),
      [
        ['/meta/subscribe', true],
        ['/meta/connect', true],
      ],
    );
  });

  it('refuses an unknown clientId with 402 and handshake advice', async () => {
    const client = new RawClient(server.url);
    client.clientId = 'forged-client-id';
    const [reply] = await client.connect();
    assert.equal(reply?.successful, false);
    assert.equal(reply?.error, '402::Unknown client');
    assert.equal(reply?.advice?.reconnect, 'handshake');
  });

  it('refuses a connect without connectionType or with an unknown one', async () => {
    const client = await ready();
    const missing = await client.request({ channel: '/meta/connect', clientId: client.clientId, id: 'x' });
    assert.deepEqual(missing, {
      channel: '/meta/connect',
      successful: false,
      clientId: client.clientId,
      id: 'x',
      error: '400:connectionType:Missing required parameter',
    });
    const unknown = await client.request({ channel: '/meta/connect', clientId: client.clientId, connectionType: 'flash', id: 'y' });
    assert.deepEqual(unknown, {
      channel: '/meta/connect',
      successful: false,
      clientId: client.clientId,
      id: 'y',
      error: '301:flash:Connection types not supported',
    });
  });

  it('answers a held connect with reconnect none when the client disconnects', async () => {
    const client = await ready();
    const answer = client.connect();
    await held(server, 1);
    const bye = await client.disconnect();
    assert.equal(bye.successful, true);
    assert.equal(bye.clientId, client.clientId);
    const [reply] = await answer;
    assert.equal(reply?.advice?.reconnect, 'none');
    assert.equal((await client.connect())[0]?.error, '402::Unknown client');
  });

  it('releases a held connect whose client goes away', async () => {
    const client = await ready();
    const abort = new AbortController();
    const request = fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: '/meta/connect', clientId: client.clientId, connectionType: 'long-polling' }),
      signal: abort.signal,
    }).catch(() => 'aborted');
    await held(server, 1);
    abort.abort();
    assert.equal(await request, 'aborted');
    await held(server, 0);
    assert.deepEqual((await server.bayeux.stats()).perIp, {});
  });
});

describe('connect hold bounds and close', () => {
  it('holds an idle connect for the server timeout, then answers it with no messages', async (t) => {
    const time = fakeTime(t);
    const server = await startServer({ timeout: 30_000 });
    t.after(() => server.close());
    const client = new RawClient(server.url, {}, 'http');
    await client.handshake();
    const answer = client.connect();
    await held(server, 1);
    time.tick(29_999);
    assert.equal((await server.bayeux.stats()).held, 1, 'still held 1 ms before the timeout');
    time.tick(1);
    const messages = await bounded(answer, 'the answer at the timeout');
    assert.equal(messages.length, 1);
    assert.equal(messages[0]?.successful, true);
    assert.equal((await server.bayeux.stats()).held, 0);
  });

  it('honours a client timeout shorter than the server one, never a longer one', async (t) => {
    const time = fakeTime(t);
    const server = await startServer({ timeout: 30_000 });
    t.after(() => server.close());
    const client = new RawClient(server.url, {}, 'http');
    await client.handshake();
    const short = client.connect(5000);
    await held(server, 1);
    time.tick(4999);
    assert.equal((await server.bayeux.stats()).held, 1, 'a 5 s client timeout holds 5 s');
    time.tick(1);
    assert.equal((await bounded(short, 'the short connect'))[0]?.successful, true);
    const long = client.connect(10 ** 9);
    await held(server, 1);
    await server.bayeux.publish('/nothing', 1);
    time.tick(29_999);
    assert.equal((await server.bayeux.stats()).held, 1, 'held up to the server timeout');
    time.tick(1);
    assert.equal((await bounded(long, 'the long connect, capped'))[0]?.successful, true);
  });

  it('answers every held connect when the server closes', async (t) => {
    const server = await startServer({ timeout: 60_000 });
    t.after(() => server.close());
    const clients = [new RawClient(server.url), new RawClient(server.url)];
    for (const c of clients) await c.handshake();
    const answers = clients.map((c) => c.connect());
    await held(server, 2);
    await server.bayeux.close();
    for (const messages of await Promise.all(answers)) {
      assert.equal(messages[0]?.successful, true);
      assert.equal(messages[0]?.advice?.reconnect, 'retry');
    }
    const after = await clients[0]?.send({ channel: '/meta/connect', clientId: clients[0].clientId, connectionType: 'long-polling' });
    assert.equal(after?.status, 503);
    assert.equal((after?.body as { error?: string } | undefined)?.error, '503::the Bayeux server is closed');
  });
});
