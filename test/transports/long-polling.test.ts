import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { fakeTime } from '../helpers/clock.js';
import { deliveries, RawClient, rawPost } from '../helpers/raw-client.js';
import { bounded, startServer, type TestServer, until } from '../helpers/server.js';

const HANDSHAKE = { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] };

describe('long-polling requests', () => {
  let server: TestServer;
  before(async () => {
    // Far longer than any test waits, so a connect is answered only by what the test does.
    server = await startServer({ timeout: 60_000 });
    server.app.use((_req, res) => {
      res.status(404).type('text').send('host 404');
    });
  });
  after(() => server.close());

  it('takes one message object as well as an array', async () => {
    const single = await rawPost(server.url, { ...HANDSHAKE, id: 'a' });
    assert.equal(single.status, 200);
    assert.equal(single.messages[0]?.successful, true);
    assert.equal(single.messages[0]?.id, 'a');
    const array = await rawPost(server.url, [{ ...HANDSHAKE, id: 'b' }]);
    assert.equal(array.messages[0]?.id, 'b');
  });

  it('answers JSON arrays with no-store and nosniff headers', async () => {
    const res = await rawPost(server.url, HANDSHAKE);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.match(res.headers.get('cache-control') ?? '', /no-store/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(Array.isArray(res.body));
  });

  it('takes a form-encoded `message` field, one or several', async () => {
    const one = await rawPost(server.url, `message=${encodeURIComponent(JSON.stringify(HANDSHAKE))}`, {
      contentType: 'application/x-www-form-urlencoded',
      raw: true,
    });
    assert.equal(one.messages[0]?.successful, true);
    const clientId = one.messages[0]?.clientId as string;
    const two = [
      { channel: '/meta/subscribe', clientId, subscription: '/form/a', id: '1' },
      { channel: '/meta/subscribe', clientId, subscription: '/form/b', id: '2' },
    ]
      .map((m) => `message=${encodeURIComponent(JSON.stringify(m))}`)
      .join('&');
    const several = await rawPost(server.url, two, { contentType: 'application/x-www-form-urlencoded', raw: true });
    assert.deepEqual(
      several.messages.map((m) => [m.id, m.successful]),
      [
        ['1', true],
        ['2', true],
      ],
    );
  });

  it('takes text/plain JSON (a CORS-simple request)', async () => {
    const res = await rawPost(server.url, JSON.stringify(HANDSHAKE), { contentType: 'text/plain;charset=UTF-8', raw: true });
    assert.equal(res.messages[0]?.successful, true);
  });

  for (const sub of ['/handshake', '/connect', '/disconnect', '/subscribe', '/unsubscribe', '/']) {
    it(`answers on the sub-path ${sub} that clients append`, async () => {
      const res = await rawPost(server.url + sub, HANDSHAKE);
      assert.equal(res.status, 200);
      assert.equal(res.messages[0]?.channel, '/meta/handshake');
    });
  }

  it('leaves other sub-paths to the host app', async () => {
    const res = await rawPost(`${server.url}/elsewhere`, HANDSHAKE);
    assert.equal(res.status, 404);
    assert.equal(res.text, 'host 404');
  });

  it('holds a connect and answers it when a message arrives; a second connect completes the first', async () => {
    const client = new RawClient(server.url);
    await client.handshake();
    await client.subscribe('/lp/held');
    const first = client.connect();
    await until(async () => (await server.bayeux.stats()).held === 1, 'the held connect');
    const second = client.connect();
    const firstReply = await bounded(first, 'the first connect answered by the second');
    assert.equal(firstReply.at(-1)?.successful, true);
    await server.bayeux.publish('/lp/held', 'ping');
    const secondReply = await bounded(second, 'the delivery');
    assert.deepEqual(
      deliveries(secondReply).map((m) => m.data),
      ['ping'],
    );
  });
});

describe('long-polling hold times', () => {
  it('holds a connect for a client advice.timeout below the server timeout, and caps one above it', async (t) => {
    const time = fakeTime(t);
    const server = await startServer({ timeout: 20_000 });
    t.after(() => server.close());
    const held = async () => (await server.bayeux.stats()).held;
    const client = new RawClient(server.url, {}, 'http');
    await client.handshake();
    const first = await bounded(client.connect(0), 'the timeout 0 connect, answered at once');
    assert.equal(first.at(-1)?.advice?.timeout, 20_000);
    const short = client.connect(3000);
    await until(async () => (await held()) === 1, 'the short connect held');
    time.tick(2999);
    assert.equal(await held(), 1, 'held until the client timeout');
    time.tick(1);
    assert.equal((await bounded(short, 'the short connect')).at(-1)?.successful, true);
    const capped = client.connect(60_000);
    await until(async () => (await held()) === 1, 'the long connect held');
    time.tick(19_999);
    assert.equal(await held(), 1, 'held until the server timeout');
    time.tick(1);
    assert.equal((await bounded(capped, 'the capped connect')).at(-1)?.successful, true);
  });
});

describe('a host app that parsed the body first', () => {
  for (const [name, parser, contentType, body] of [
    ['express.json()', express.json(), 'application/json', JSON.stringify(HANDSHAKE)],
    ['express.text()', express.text(), 'text/plain', JSON.stringify(HANDSHAKE)],
    [
      'express.urlencoded()',
      express.urlencoded({ extended: false }),
      'application/x-www-form-urlencoded',
      `message=${encodeURIComponent(JSON.stringify(HANDSHAKE))}`,
    ],
  ] as const) {
    it(`works after ${name} without hanging`, async () => {
      const server = await startServer({}, { before: (app) => app.use(parser) });
      try {
        const res = await rawPost(server.url, body, { contentType, raw: true });
        assert.equal(res.status, 200);
        assert.equal(res.messages[0]?.successful, true);
      } finally {
        await server.close();
      }
    });
  }
});
