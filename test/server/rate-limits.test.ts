/** Rate limits: a flood is refused with an error naming the limit; everyone else goes on. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bayeux, type Message, parseBayeuxError } from '../../lib/index.js';
import { recordingLogger } from '../helpers/logger.js';
import { deliveries, RawClient } from '../helpers/raw-client.js';
import { until, withServer } from '../helpers/server.js';

/** One request carrying `n` publishes. */
async function flood(client: RawClient, channel: string, n: number): Promise<Message[]> {
  const batch = Array.from({ length: n }, (_, i) => ({ channel, clientId: client.clientId, data: i, id: client.id() }));
  return (await client.send(batch)).messages;
}

// Refill of one token per 1000 s: nothing comes back while a test runs, however slow the machine.
const SLOW = 0.001;

describe('rateLimit', () => {
  it('refuses the part of a flood above the session limit with 429 naming the limit and back-off advice; other clients are unaffected', async () => {
    await withServer({ rateLimit: { session: { rate: SLOW, burst: 20 }, ip: false } }, async (server) => {
      const flooder = new RawClient(server.url);
      await flooder.handshake();
      const listener = new RawClient(server.url);
      await listener.handshake();
      await listener.subscribe('/rl/room');
      await listener.connect(0);
      const replies = await flood(flooder, '/rl/room', 50);
      const ok = replies.filter((r) => r.successful === true);
      const refused = replies.filter((r) => r.successful === false);
      assert.equal(ok.length, 20);
      assert.equal(refused.length, 30);
      assert.deepEqual(parseBayeuxError(refused[0]?.error ?? ''), {
        code: 429,
        args: ['session', '0.001/s'],
        message: 'Rate limit exceeded: slow down',
      });
      assert.equal(refused[0]?.advice?.reconnect, 'retry');
      assert.ok((refused[0]?.advice?.interval ?? 0) >= 1000);
      // Accepted in order: the first 20.
      assert.deepEqual(
        ok.map((r) => r.id),
        replies.slice(0, 20).map((r) => r.id),
      );

      const other = new RawClient(server.url);
      await other.handshake();
      assert.equal((await other.publish('/rl/room', 'still fine')).successful, true);
      const got = deliveries(await listener.connect(0)).map((m) => m.data);
      assert.deepEqual(got, [...Array(20).keys(), 'still fine']);
    });
  });

  it('advises a back-off long enough for the bucket to refill what was refused, at least 1 s and at most 60 s', async () => {
    const advised = async (rate: number, burst: number, sent: number) => {
      let advice: Message['advice'];
      await withServer({ rateLimit: { session: { rate, burst }, ip: false } }, async (server) => {
        const client = new RawClient(server.url);
        await client.handshake();
        // The bucket is made full by this first counted request, so exactly `burst` pass.
        const replies = await flood(client, '/rl/backoff', sent);
        assert.equal(replies.filter((r) => r.successful === true).length, burst);
        advice = replies.at(-1)?.advice;
      });
      return advice;
    };
    assert.deepEqual(await advised(1, 2, 7), { reconnect: 'retry', interval: 5000 });
    assert.deepEqual(await advised(10, 2, 5), { reconnect: 'retry', interval: 1000 });
    assert.deepEqual(await advised(SLOW, 2, 5), { reconnect: 'retry', interval: 60_000 });
  });

  it('answers refused subscribes and unsubscribes with their clientId and subscription', async () => {
    await withServer({ rateLimit: { session: { rate: SLOW, burst: 1 }, ip: false } }, async (server) => {
      const client = new RawClient(server.url);
      await client.handshake();
      const replies = (
        await client.send([
          { channel: '/meta/subscribe', clientId: client.clientId, subscription: '/rl/a', id: client.id() },
          { channel: '/meta/subscribe', clientId: client.clientId, subscription: ['/rl/b', '/rl/c'], id: client.id() },
          { channel: '/meta/unsubscribe', clientId: client.clientId, subscription: '/rl/a', id: client.id() },
          { channel: '/rl/a', clientId: client.clientId, data: 1, id: client.id() },
        ])
      ).messages;
      assert.deepEqual(
        replies.map((r) => [r.channel, r.successful, r.clientId, r.subscription, r.error]),
        [
          ['/meta/subscribe', true, client.clientId, '/rl/a', undefined],
          ['/meta/subscribe', false, client.clientId, ['/rl/b', '/rl/c'], '429:session,0.001/s:Rate limit exceeded: slow down'],
          ['/meta/unsubscribe', false, client.clientId, '/rl/a', '429:session,0.001/s:Rate limit exceeded: slow down'],
          ['/rl/a', false, client.clientId, undefined, '429:session,0.001/s:Rate limit exceeded: slow down'],
        ],
      );
    });
  });

  it('limits the publish that shares a request with a poll, and logs the refusal at debug level', async () => {
    const logger = recordingLogger();
    await withServer({ logger, rateLimit: { session: { rate: SLOW, burst: 1 }, ip: false } }, async (server) => {
      const client = new RawClient(server.url);
      await client.handshake();
      assert.equal((await client.publish('/rl/a', 1)).successful, true);
      const replies = (
        await client.send([
          { channel: '/meta/connect', clientId: client.clientId, connectionType: 'long-polling', advice: { timeout: 0 }, id: client.id() },
          { channel: '/rl/a', clientId: client.clientId, data: 2, id: client.id() },
        ])
      ).messages;
      // The poll's reply goes last in the response.
      assert.deepEqual(
        replies.map((r) => [r.channel, r.successful]),
        [
          ['/rl/a', false],
          ['/meta/connect', true],
        ],
      );
      assert.deepEqual(
        logger.lines.debug.filter(([, msg]) => msg?.includes('rate limit')),
        [[{ scope: 'session', refused: 1 }, 'express-bayeux: 1 message(s) refused by the session rate limit']],
      );
    });
  });

  it('does not count polls', async () => {
    await withServer({ rateLimit: { session: { rate: SLOW, burst: 2 }, ip: false } }, async (server) => {
      const client = new RawClient(server.url);
      await client.handshake();
      for (let i = 0; i < 10; i++) {
        const [reply] = await client.connect(0);
        assert.equal(reply?.successful, true);
      }
    });
  });

  it('lets a client that used up its tokens disconnect, which answers its held poll', async () => {
    await withServer({ rateLimit: { session: { rate: SLOW, burst: 2 }, ip: false } }, async (server) => {
      const client = new RawClient(server.url);
      await client.handshake();
      assert.equal((await flood(client, '/rl/room', 3))[2]?.successful, false, 'the tokens are used up');
      await client.connect(0);
      const held = client.connect();
      await until(async () => (await server.bayeux.stats()).held === 1, 'the held connect');
      assert.equal((await client.disconnect()).successful, true);
      assert.equal((await held)[0]?.error, '402::Unknown client');
      assert.equal((await server.bayeux.stats()).sessions, 0);
    });
  });

  it('limits an IP across its sessions and handshakes; another IP is unaffected', async () => {
    await withServer(
      { rateLimit: { session: false, ip: { rate: SLOW, burst: 5 } } },
      async (server) => {
        const from = (ip: string) => new RawClient(server.url, { 'x-forwarded-for': ip });
        const results: (boolean | undefined)[] = [];
        for (let i = 0; i < 7; i++) results.push((await from('10.9.0.1').handshake()).successful);
        assert.deepEqual(results, [true, true, true, true, true, false, false]);
        const refused = await from('10.9.0.1').handshake();
        assert.deepEqual(parseBayeuxError(refused.error ?? '').args, ['ip', '0.001/s']);
        assert.equal(refused.advice?.reconnect, 'handshake');
        assert.equal((await from('10.9.0.2').handshake()).successful, true);
      },
      { before: (app) => app.set('trust proxy', true) },
    );
  });

  it('is on by default with limits no normal client meets, and can be turned off', async () => {
    await withServer({}, async (server) => {
      const client = new RawClient(server.url);
      await client.handshake();
      const replies = await flood(client, '/rl/normal', 200);
      assert.ok(replies.every((r) => r.successful === true));
    });
    await withServer({ rateLimit: false }, async (server) => {
      const client = new RawClient(server.url);
      await client.handshake();
      for (let i = 0; i < 6; i++) assert.ok((await flood(client, '/rl/off', 250)).every((r) => r.successful === true));
    });
  });

  it('rejects a bad rateLimit option with a TypeError naming it', () => {
    assert.throws(() => bayeux({ rateLimit: { session: { rate: 0, burst: 1 } } }), /rateLimit\.session\.rate/);
    assert.throws(() => bayeux({ rateLimit: { ip: { rate: 1, burst: 0 } } }), /rateLimit\.ip\.burst/);
    assert.throws(() => bayeux({ rateLimit: { perUser: { rate: 1 } } as never }), /rateLimit\.perUser/);
  });
});
