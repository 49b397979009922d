/** History in Redis Streams: replay across nodes, node death, a flush, bounds and the cost of a publish. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type HistoryOptions, type Message, type RedisEngine, redisEngine } from '../../lib/index.js';
import { startNodeProcess } from '../helpers/node-process.js';
import { startOwnRedis } from '../helpers/own-redis.js';
import { deliveries, RawClient } from '../helpers/raw-client.js';
import {
  addSubscribers,
  adminRedis,
  channelKey,
  dropNamespace,
  nodeEnv,
  oneRedisOnly,
  redisMissing,
  testEngine,
  testNamespace,
} from '../helpers/redis.js';
import { startServer, type TestServer, until } from '../helpers/server.js';
import { collect, replayBehaviour } from './behaviour.js';

const missing = await redisMissing();
const namespaces: string[] = [];
function namespace(name: string): string {
  const ns = testNamespace(name);
  namespaces.push(ns);
  return ns;
}
after(async () => {
  for (const ns of namespaces) await dropNamespace(ns);
});

interface Position {
  offset: number;
  epoch: string;
}
const positionOf = (m: Message) => (m.ext as { position: Position }).position;
const numbers = (messages: Message[]) => messages.map((m) => (m.data as { n: number }).n);

if (missing === undefined) replayBehaviour('redis', () => testEngine(namespace('replay')));

/** A node on the test Redis (or cluster), or on the Redis at `url`. */
async function node(ns: string, history: HistoryOptions, url?: string, maxInterval?: number): Promise<TestServer> {
  const engine = url === undefined ? testEngine(ns) : redisEngine({ url, namespace: ns });
  return startServer({ timeout: 2000, engine, history, ...(maxInterval ? { maxInterval } : {}) });
}

describe('history in Redis Streams', { skip: missing }, () => {
  it('replays through the owner when the subscribe reaches another node', async () => {
    const ns = namespace('owner');
    const history = { channels: ['/h/*'] };
    const a = await node(ns, history);
    const b = await node(ns, history);
    try {
      for (let n = 1; n <= 5; n++) await b.bayeux.publish('/h/a', { n });
      const client = new RawClient(a.url);
      await client.handshake();
      await client.connect(0);
      const elsewhere = new RawClient(b.url);
      elsewhere.clientId = client.clientId;
      const reply = await elsewhere.request({
        channel: '/meta/subscribe',
        clientId: client.clientId,
        subscription: '/h/a',
        id: '1',
        ext: { replay: { '/h/a': -2 } },
      });
      assert.equal(reply.successful, true);
      await (b.bayeux.engine as RedisEngine).sync();
      await b.bayeux.publish('/h/a', { n: 6 });
      assert.deepEqual(numbers(await collect(client, 6)), [1, 2, 3, 4, 5, 6]);
      // A position already gone is refused by the node that took the subscribe.
      const refused = await elsewhere.request({
        channel: '/meta/subscribe',
        clientId: client.clientId,
        subscription: '/h/b',
        id: '2',
        ext: { replay: { '/h/b': { offset: 5, epoch: 'gone' } } },
      });
      assert.equal(refused.successful, false);
      assert.match(refused.error as string, /^400:\/h\/b:replay position 5/);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('gives a client whose node was SIGKILLed all 10 messages published meanwhile, in order, once', async () => {
    const ns = namespace('kill');
    const history = { channels: ['/kill/**'] };
    const maxInterval = 5000;
    const child = await startNodeProcess({ ...nodeEnv(ns), MAX_INTERVAL: String(maxInterval), HISTORY: JSON.stringify(history) });
    let survivor: TestServer | undefined;
    try {
      survivor = await node(ns, history, undefined, maxInterval);
      const client = new RawClient(child.url);
      await client.handshake();
      await client.subscribe('/kill/a');
      await client.connect(0);
      await child.kill('SIGKILL');
      for (let n = 1; n <= 10; n++) await survivor.bayeux.publish('/kill/a', { n });
      // The client comes back through another node with the same session.
      const back = new RawClient(survivor.url);
      back.clientId = client.clientId;
      const got = await collect(back, 10);
      await survivor.bayeux.publish('/kill/a', { n: 11 });
      got.push(...(await collect(back, 1)));
      assert.deepEqual(numbers(got), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      assert.deepEqual(deliveries(await back.connect(0)), [], 'nothing twice');
    } finally {
      await child.kill('SIGKILL');
      await survivor?.close();
    }
  });

  it('re-sends, from history, what an ack client had not acknowledged when its node died', async () => {
    const ns = namespace('ack');
    const history = { channels: ['/ack/*'] };
    const maxInterval = 5000;
    const child = await startNodeProcess({
      ...nodeEnv(ns),
      MAX_INTERVAL: String(maxInterval),
      HISTORY: JSON.stringify(history),
      ACK: '1',
    });
    let survivor: TestServer | undefined;
    try {
      survivor = await startServer({
        timeout: 2000,
        maxInterval,
        ack: true,
        history,
        engine: testEngine(ns),
      });
      const client = new RawClient(child.url);
      assert.deepEqual((await client.handshake({ ext: { ack: true } })).ext, { ack: true, replay: true });
      await client.subscribe('/ack/a');
      const connect = async (to: RawClient, ack: number) =>
        (
          await to.send({
            channel: '/meta/connect',
            clientId: client.clientId,
            connectionType: 'long-polling',
            id: to.id(),
            advice: { timeout: 500 },
            ext: { ack },
          })
        ).messages;
      const first = (await connect(client, -1)).find((m) => m.channel === '/meta/connect');
      const batch = (first?.ext as { ack?: number } | undefined)?.ack ?? 0;
      await survivor.bayeux.publish('/ack/a', { n: 1 });
      await survivor.bayeux.publish('/ack/a', { n: 2 });
      // Delivered by the doomed node, never acknowledged (every connect still names the first batch).
      let sent: Message[] = [];
      const deadline = Date.now() + 10_000;
      while (sent.length < 2 && Date.now() < deadline) sent = deliveries(await connect(client, batch));
      assert.deepEqual(numbers(sent), [1, 2]);
      await child.kill('SIGKILL');
      await survivor.bayeux.publish('/ack/a', { n: 3 });
      const back = new RawClient(survivor.url);
      let got: Message[] = [];
      while (got.length < 3 && Date.now() < deadline + 10_000) got = deliveries(await connect(back, batch));
      assert.deepEqual(numbers(got), [1, 2, 3]);
    } finally {
      await child.kill('SIGKILL');
      await survivor?.close();
    }
  });

  it('stays bounded under a soak of 2,000 publishes over 20 channels: size entries each, expiring with ttl', async () => {
    const ns = namespace('bounds');
    const server = await node(ns, { channels: ['/b/*'], size: 5, ttl: 60_000 });
    const redis = adminRedis();
    try {
      // One publish per channel at a time: a soak, not a burst past the command timeout.
      for (let round = 0; round < 100; round++) {
        await Promise.all(Array.from({ length: 20 }, (_, c) => server.bayeux.publish(`/b/${c}`, { n: round })));
      }
      for (let c = 0; c < 20; c++) {
        assert.equal(await redis.xlen(channelKey(ns, `/b/${c}`, 'history')), 5);
        const ttl = await redis.pttl(channelKey(ns, `/b/${c}`, 'history'));
        assert.ok(ttl > 0 && ttl <= 60_000, `stream expiry ${ttl}`);
      }
    } finally {
      redis.disconnect();
      await server.close();
    }
  });

  it('serves nothing older than ttl, and refuses a resume into what expired', async () => {
    const ns = namespace('ttl');
    const server = await node(ns, { channels: ['/t/*'], ttl: 1000 });
    const redis = adminRedis();
    try {
      const seen: Position[] = [];
      const stop = server.bayeux.subscribe('/t/a', (m) => {
        seen.push(positionOf(m));
      });
      await server.bayeux.publish('/t/a', { n: 1 });
      await server.bayeux.publish('/t/a', { n: 2 });
      await (server.bayeux.engine as RedisEngine).sync();
      stop();
      // The Stream expires ttl after its last publish (an event Redis reports, not a sleep).
      await until(async () => (await redis.exists(channelKey(ns, '/t/a', 'history'))) === 0, 'the stream to expire', 15_000);
      const client = new RawClient(server.url);
      await client.handshake();
      const all = await client.request({
        channel: '/meta/subscribe',
        clientId: client.clientId,
        subscription: '/t/a',
        id: '1',
        ext: { replay: { '/t/a': -2 } },
      });
      assert.equal(all.successful, true);
      assert.deepEqual(deliveries(await client.connect(0)), []);
      const resume = await client.request({ channel: '/meta/subscribe', clientId: client.clientId, subscription: '/t/b', id: '2' });
      assert.equal(resume.successful, true);
      const refused = await client.request({
        channel: '/meta/subscribe',
        clientId: client.clientId,
        subscription: '/t/a',
        id: '3',
        ext: { replay: { '/t/a': seen[0] } },
      });
      assert.equal((refused.ext as { replay: { reason: string } }).replay.reason, 'evicted');
    } finally {
      redis.disconnect();
      await server.close();
    }
  });
});

describe('history on a Redis of its own', { skip: missing ?? oneRedisOnly('starts a Redis of its own') }, () => {
  it('changes epoch after a flush, and refuses positions of the lost history', async () => {
    const own = await startOwnRedis();
    const server = await node('bayeux-own', { channels: ['/e/*'] }, own.url);
    try {
      const seen: Position[] = [];
      const stop = server.bayeux.subscribe('/e/a', (m) => {
        seen.push(positionOf(m));
      });
      await server.bayeux.publish('/e/a', { n: 1 });
      await server.bayeux.publish('/e/a', { n: 2 });
      await own.client.flushall();
      await server.bayeux.publish('/e/a', { n: 3 });
      await (server.bayeux.engine as RedisEngine).sync();
      stop();
      assert.equal(seen.length, 3);
      assert.equal(seen[0]?.epoch, seen[1]?.epoch);
      assert.notEqual(seen[2]?.epoch, seen[1]?.epoch, 'a new epoch after the flush');
      assert.ok((seen[2] as Position).offset > (seen[1] as Position).offset, 'offsets of a new epoch start above the old ones');
      const client = new RawClient(server.url);
      await client.handshake();
      for (const [replay, reason] of [
        [seen[0], 'epoch'],
        [(seen[0] as Position).offset, 'evicted'],
      ] as const) {
        const reply = await client.request({
          channel: '/meta/subscribe',
          clientId: client.clientId,
          subscription: '/e/a',
          id: client.id(),
          ext: { replay: { '/e/a': replay } },
        });
        assert.equal(reply.successful, false);
        assert.equal((reply.ext as { replay: { reason: string } }).replay.reason, reason);
      }
    } finally {
      await server.close();
      await own.stop();
    }
  });

  it('costs the same Redis commands per publish for 1 and for 1000 subscribers', async () => {
    const own = await startOwnRedis();
    const server = await node('bayeux-cost', { channels: ['/c/*'] }, own.url);
    try {
      const engine = server.bayeux.engine as RedisEngine;
      const stats = async () => {
        const info = await own.client.info('commandstats');
        const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
        return { eval: calls('eval'), xadd: calls('xadd'), publish: calls('publish') };
      };
      async function cost(subscribers: number, channel: string) {
        await addSubscribers(engine, subscribers, channel);
        await engine.sync();
        await own.client.config('RESETSTAT');
        for (let n = 0; n < 10; n++) await server.bayeux.publish(channel, { n });
        const counted = await stats();
        return counted;
      }
      const one = await cost(1, '/c/one');
      const thousand = await cost(1000, '/c/thousand');
      console.log(
        `Redis commands for 10 history publishes: 1 subscriber ${JSON.stringify(one)}, 1000 subscribers ${JSON.stringify(thousand)}`,
      );
      // One script per publish; XADD and the PUBLISHes run inside it, one PUBLISH per pattern that can
      // match the channel (`/c/one`: itself, `/c/*`, `/c/**`, `/**`), whoever subscribed.
      assert.deepEqual(one, { eval: 10, xadd: 10, publish: 40 });
      assert.deepEqual(thousand, one);
    } finally {
      await server.close();
      await own.stop();
    }
  });
});
