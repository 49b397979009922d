/**
 * jsforce's Salesforce replay extension (StreamingExtension.Replay) on the
 * real Faye client against our server: -2, -1, after an id, and a refused id.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import faye, { type Client as FayeClient } from 'faye';
import { StreamingExtension } from 'jsforce/api/streaming';
import { type Engine, memoryEngine, redisEngine } from '../../lib/index.js';
import { dropNamespace, REDIS_URL, redisMissing, testNamespace } from '../helpers/redis.js';
import { startServer, type TestServer, until } from '../helpers/server.js';

const CHANNEL = '/event/Order__e';

interface SalesforceEvent {
  event: { replayId: number };
  payload: { n: number };
}

const missing = await redisMissing();
const engines: [string, () => Engine, string | undefined][] = [['memory', () => memoryEngine(), undefined]];
if (missing === undefined) {
  const namespace = testNamespace('jsforce');
  engines.push(['redis', () => redisEngine({ url: REDIS_URL, namespace }), namespace]);
}

for (const [engineName, engine, namespace] of engines)
  describe(`jsforce replay extension on the Faye client (${engineName} engine)`, () => {
    let server: TestServer;
    const clients: FayeClient[] = [];
    let ids: number[] = [];

    before(async () => {
      server = await startServer({ engine: engine(), history: { channels: ['/event/**'], size: 100, salesforce: true } });
      ids = [];
      const stop = server.bayeux.subscribe(CHANNEL, (m) => {
        ids.push((m.data as SalesforceEvent).event.replayId);
      });
      for (let n = 1; n <= 5; n++) await server.bayeux.publish(CHANNEL, { payload: { n } });
      await until(() => ids.length === 5, 'the five messages routed back');
      stop();
    });
    after(async () => {
      for (const c of clients) c.disconnect();
      await until(async () => (await server.bayeux.stats()).sessions === 0, 'every Faye session to end');
      await server.close();
      if (namespace !== undefined) await dropNamespace(namespace);
    });

    /** A Faye client with jsforce's replay extension from `replayId`, and what it received. */
    function client(replayId: number): { client: FayeClient; received: SalesforceEvent[]; subscribed: Promise<void> } {
      const c = new faye.Client(server.url, { timeout: 5 });
      c.disable('autodisconnect');
      c.addExtension(new StreamingExtension.Replay(CHANNEL, replayId));
      clients.push(c);
      const received: SalesforceEvent[] = [];
      const subscription = c.subscribe(CHANNEL, (data) => received.push(data as SalesforceEvent));
      const subscribed = new Promise<void>((resolve, reject) => subscription.then(() => resolve(), reject));
      return { client: c, received, subscribed };
    }

    it('numbers every message in data.event.replayId, growing by one', () => {
      assert.equal(ids.length, 5);
      for (let i = 1; i < ids.length; i++) assert.equal(ids[i], (ids[i - 1] as number) + 1);
    });

    it('-2 replays everything kept, then live messages, with no gap and no duplicate', async () => {
      const { received, subscribed } = client(-2);
      await subscribed;
      await server.bayeux.publish(CHANNEL, { payload: { n: 6 } });
      await until(() => received.length >= 6, 'five replayed and one live message');
      assert.deepEqual(
        received.map((d) => d.payload.n),
        [1, 2, 3, 4, 5, 6],
      );
      assert.equal(received[5]?.event.replayId, (ids[4] as number) + 1);
    });

    it('-1 gets new messages only', async () => {
      const { received, subscribed } = client(-1);
      await subscribed;
      await server.bayeux.publish(CHANNEL, { payload: { n: 7 } });
      await until(() => received.length >= 1, 'the live message');
      assert.deepEqual(
        received.map((d) => d.payload.n),
        [7],
      );
    });

    it('an id gets everything after it, in order', async () => {
      const { received, subscribed } = client(ids[2] as number);
      await subscribed;
      await until(() => received.length >= 4, 'the messages after the third');
      assert.deepEqual(
        received.map((d) => d.payload.n),
        [4, 5, 6, 7],
      );
    });

    it('an id the server never issued is refused with a Bayeux error', async () => {
      const { client: c, subscribed } = client((ids[0] as number) + 10_000);
      const errors: string[] = [];
      c.addExtension({
        incoming(message, callback) {
          if (message.channel === '/meta/subscribe' && typeof message.error === 'string') errors.push(message.error);
          callback(message);
        },
      });
      await assert.rejects(subscribed, /replay position \d+ was never issued/);
      assert.match(errors[0] ?? '', /^400:\/event\/Order__e:replay position/);
    });

    it('an id older than what is kept is refused too', async () => {
      const { subscribed } = client((ids[0] as number) - 5);
      await assert.rejects(subscribed, /no longer kept/);
    });
  });
