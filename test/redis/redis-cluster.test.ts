/**
 * The Redis engine on a Redis Cluster of three primaries started by the test:
 * the engine contract, then what the cluster changes (channels on slots by
 * their own name, sharded pub/sub, wildcards through the registry, moves cut
 * by numbers) and what it keeps (limits and sessions across nodes).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { engineContract } from '../../lib/engine.js';
import { encode } from '../../lib/engines/redis/frames.js';
import { SEQUENCED } from '../../lib/engines/redis/scripts.js';
import { type RedisEngine, redisEngine } from '../../lib/index.js';
import type { Message } from '../../lib/protocol/message.js';
import { deliveries, RawClient } from '../helpers/raw-client.js';
import { testNamespace } from '../helpers/redis.js';
import { binaryMissing, type OwnCluster, startCluster, versionMissing } from '../helpers/redis-server.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { replayBehaviour } from '../history/behaviour.js';

const missing = binaryMissing('redis-server', 'redis-cli') ?? versionMissing(7);

/** Every key of one Redis server that SCAN finds matching `match`. */
async function keysMatching(admin: Redis, match: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

/** Per node: SPUBLISH and PUBLISH calls, and publishes received over the cluster bus. */
async function counters(admins: Redis[]): Promise<{ spublish: number; publish: number; bus: number }[]> {
  return Promise.all(
    admins.map(async (admin) => {
      const stats = await admin.info('commandstats');
      const info = String(await admin.call('CLUSTER', 'INFO'));
      const calls = (name: string): number => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
      return {
        spublish: calls('spublish'),
        publish: calls('publish'),
        bus: Number(/cluster_stats_messages_publish_received:(\d+)/.exec(info)?.[1] ?? 0),
      };
    }),
  );
}

if (missing !== undefined) {
  it('Redis Cluster', (t) => t.skip(missing));
} else {
  const engines: RedisEngine[] = [];
  const admins: Redis[] = [];
  /** The overlap tests' stand-in publishers. */
  const publishers: Cluster[] = [];
  const servers: TestServer[] = [];
  const cluster: OwnCluster = await startCluster(3);
  after(async () => {
    for (const server of servers) await server.close();
    for (const admin of admins) admin.disconnect();
    for (const publisher of publishers) publisher.disconnect();
    await cluster.kill();
  });
  for (const node of cluster.nodes) admins.push(new Redis(node.port, '127.0.0.1'));

  engineContract(
    'redis cluster',
    () => {
      const engine = redisEngine({ cluster: cluster.addresses, namespace: testNamespace('contract') });
      engines.push(engine);
      return engine;
    },
    {
      settle: async () => {
        await Promise.all(engines.map((e) => e.sync().catch(() => {})));
      },
    },
  );

  // History: the Stream, its metadata and the stream channel share the namespace's slot.
  replayBehaviour('redis cluster', () => redisEngine({ cluster: cluster.addresses, namespace: testNamespace('replay') }));

  describe('the Redis engine on a Redis Cluster', () => {
    async function nodes(namespace: string, count: number, maxSessions?: number): Promise<TestServer[]> {
      const started: TestServer[] = [];
      for (let i = 0; i < count; i++) {
        const server = await startServer({
          timeout: 2000,
          ...(maxSessions ? { maxSessions } : {}),
          engine: redisEngine({ cluster: cluster.addresses, namespace }),
        });
        servers.push(server);
        started.push(server);
      }
      return started;
    }

    it('rejects a cluster given with another topology', () => {
      assert.throws(
        () => redisEngine({ cluster: [{ host: '127.0.0.1', port: 7000 }], url: 'redis://x' }),
        /one of "url", "sentinels" or "cluster"/,
      );
      assert.throws(() => redisEngine({ cluster: [] }), /"cluster" must be a non-empty array/);
    });

    /** SPUBLISH calls per primary since `before`. */
    async function spublishedSince(before: { spublish: number }[]): Promise<number[]> {
      return (await counters(admins)).map((c, i) => c.spublish - (before[i]?.spublish ?? 0));
    }

    const stats = (server: TestServer) => (server.bayeux.engine as RedisEngine).stats();
    const syncAll = (servers: TestServer[]) => Promise.all(servers.map((n) => (n.bayeux.engine as RedisEngine).sync()));

    it('places channels on slots by their own name: 1,000 channels load the primaries evenly, a node receives only what it wants', async () => {
      const namespace = testNamespace('spread');
      const [a, b, c] = (await nodes(namespace, 3)) as [TestServer, TestServer, TestServer];
      const before = await counters(admins);
      // Nobody wants a wildcard: a publish is one SPUBLISH, on its channel's shard.
      for (let i = 0; i < 1000; i++) await c.bayeux.publish(`/spread/${i}`, i);
      const shares = await spublishedSince(before);
      assert.equal(
        shares.reduce((x, y) => x + y, 0),
        1000,
        `SPUBLISH per primary: ${shares}`,
      );
      assert.ok(Math.max(...shares) <= 2 * Math.min(...shares), `SPUBLISH per primary within 2x: ${shares}`);
      const bus = (await counters(admins)).map((n, i) => n.bus - (before[i]?.bus ?? 0));
      assert.deepEqual(bus, [0, 0, 0], 'nothing crossed the cluster bus');

      const onA = new RawClient(a.url);
      const onB = new RawClient(b.url);
      for (const [client, channel] of [
        [onA, '/spread/7'],
        [onB, '/spread/8'],
      ] as const) {
        await client.handshake();
        assert.equal((await client.subscribe(channel)).successful, true);
        await client.connect(0);
      }
      const received = [a, b, c].map((n) => stats(n).broadcasts);
      for (let i = 0; i < 10; i++) {
        await c.bayeux.publish('/spread/7', i);
        await c.bayeux.publish('/spread/8', i);
      }
      await syncAll([a, b, c]);
      assert.deepEqual(
        [a, b, c].map((n, i) => stats(n).broadcasts - (received[i] ?? 0)),
        [10, 10, 0],
        'broadcasts received per node: each only its own channel, the publisher none',
      );
      assert.deepEqual(
        deliveries(await onA.connect(0)).map((m) => [m.channel, m.data]),
        [...Array(10).keys()].map((i) => ['/spread/7', i]),
      );
      assert.deepEqual(
        deliveries(await onB.connect(0)).map((m) => [m.channel, m.data]),
        [...Array(10).keys()].map((i) => ['/spread/8', i]),
      );
      // The namespace's own keys (sessions) stay in its slot; channels' keys are spread.
      const holding = await Promise.all(admins.map(async (admin) => (await admin.keys(`{${namespace}}:*`)).length));
      assert.equal(holding.filter((n) => n > 0).length, 1, `namespace keys per node: ${holding}`);
      const sequences = await Promise.all(admins.map(async (admin) => (await admin.keys(`{${namespace}:/spread/*}:n`)).length));
      assert.ok(
        sequences.every((n) => n > 0),
        `channel sequence keys per node: ${sequences}`,
      );
    });

    it('routes wildcards across shards: one more SPUBLISH while some node wants one, each message once, in order', async () => {
      const namespace = testNamespace('wild');
      const [a, b] = (await nodes(namespace, 2)) as [TestServer, TestServer];
      const client = new RawClient(a.url);
      await client.handshake();
      // Both match /wild/x: the client still gets each message once.
      assert.equal((await client.subscribe(['/wild/*', '/wild/x'])).successful, true);
      await client.connect(0);
      await syncAll([a, b]);
      let before = await counters(admins);
      for (let i = 0; i < 20; i++) await b.bayeux.publish('/wild/x', i);
      for (let i = 0; i < 5; i++) await b.bayeux.publish('/wild/y', i);
      assert.equal(
        (await spublishedSince(before)).reduce((x, y) => x + y, 0),
        20 * 2 + 5 * 2,
      );
      await syncAll([a, b]);
      // Order holds per channel; /wild/x and /wild/y come through different shards, so not between them.
      const got = deliveries(await client.connect(0));
      const on = (channel: string) => got.filter((m) => m.channel === channel).map((m) => m.data);
      assert.equal(got.length, 25);
      assert.deepEqual(on('/wild/x'), [...Array(20).keys()]);
      assert.deepEqual(on('/wild/y'), [...Array(5).keys()]);
      assert.equal((await client.unsubscribe(['/wild/*', '/wild/x'])).successful, true);
      await syncAll([a, b]);
      before = await counters(admins);
      for (let i = 0; i < 10; i++) await b.bayeux.publish('/wild/x', i);
      assert.equal(
        (await spublishedSince(before)).reduce((x, y) => x + y, 0),
        10,
        'no copy once nobody wants the wildcard',
      );
    });

    it('moves a session between nodes on every poll while channels on several shards are published: none lost, none twice, in order', async () => {
      const namespace = testNamespace('moves');
      const [a, b, c] = (await nodes(namespace, 3)) as [TestServer, TestServer, TestServer];
      const channels = [...Array(6).keys()].map((i) => `/moves/${i}`);
      const onA = new RawClient(a.url);
      await onA.handshake();
      assert.equal((await onA.subscribe([...channels, '/moves/*'])).successful, true);
      const onB = new RawClient(b.url);
      onB.clientId = onA.clientId;
      const total = 300;
      const got: Message[] = [];
      let publishing = true;
      const published = (async () => {
        for (let i = 0; i < total; i++) await c.bayeux.publish(channels[i % channels.length] as string, i);
        publishing = false;
      })();
      // Every connect lands on the other node, so the session moves while messages are in flight on each shard.
      for (let poll = 0; publishing || got.length < total; poll++) {
        if (!publishing && poll > 1000) break;
        const client = poll % 2 === 0 ? onB : onA;
        got.push(...deliveries(await client.connect(0)));
        if (!publishing) await syncAll([a, b, c]);
      }
      await published;
      const data = got.map((m) => m.data as number);
      assert.equal(new Set(data).size, data.length, 'no message twice');
      assert.deepEqual(
        [...data].sort((x, y) => x - y),
        [...Array(total).keys()],
        'every message once',
      );
      for (const channel of channels) {
        const order = got.filter((m) => m.channel === channel).map((m) => m.data as number);
        assert.deepEqual(
          order,
          [...order].sort((x, y) => x - y),
          `order on ${channel}`,
        );
      }
    });

    /** A node for the overlap tests: a long command timeout, so the patterns' settling window (twice it) outlasts the test. */
    async function overlapNode(namespace: string): Promise<TestServer> {
      const server = await startServer({
        timeout: 2000,
        engine: redisEngine({ cluster: cluster.addresses, namespace, commandTimeout: 30_000 }),
      });
      servers.push(server);
      return server;
    }

    /**
     * Sends one numbered copy of a broadcast on /room/1 on `pattern`'s channel, as a publishing node sends each
     * copy: the tests send a broadcast's two copies apart, with a change in between.
     */
    function copiesOf(namespace: string): (pattern: string, id: string, data: string) => Promise<unknown> {
      const publisher = new Cluster(cluster.addresses);
      publishers.push(publisher);
      const copy = (pattern: string, id: string, data: string) =>
        publisher.eval(
          SEQUENCED,
          1,
          `{${namespace}:${pattern}}:n`,
          `{${namespace}:${pattern}}:c`,
          encode({ kind: 'broadcast', id, channel: '/room/1', publisher: '', json: JSON.stringify({ channel: '/room/1', data }) }),
          60_000,
        );
      return copy;
    }

    /** A node on a fresh namespace, its engine, and a stand-in publisher of copies into that namespace. */
    async function overlapSetUp(name: string) {
      const namespace = testNamespace(name);
      const server = await overlapNode(namespace);
      return { server, engine: server.bayeux.engine as RedisEngine, copy: copiesOf(namespace) };
    }

    /** A long-polling client of `server`, handshaken and subscribed, its first connect answered. */
    async function subscribedTo(server: TestServer, subscription: string | string[]): Promise<RawClient> {
      const client = new RawClient(server.url);
      await client.handshake();
      assert.equal((await client.subscribe(subscription)).successful, true);
      await client.connect(0);
      return client;
    }

    it('gives a session holding /room/1 and /room/* each broadcast once when its two copies straddle a subscribe or an unsubscribe', async () => {
      const { server, engine, copy } = await overlapSetUp('overlap');
      const s = await subscribedTo(server, '/room/*');
      const both = await subscribedTo(server, ['/room/*', '/room/1']);
      await copy('/room/*', 'test.2', 'two');
      await copy('/room/1', 'test.1', 'one');
      await engine.sync();
      // The subscribe comes between the copies of each: "two" came on /room/*, "one" on /room/1 only.
      assert.equal((await s.subscribe('/room/1')).successful, true);
      await copy('/room/1', 'test.2', 'two');
      await copy('/room/*', 'test.1', 'one');
      await engine.sync();
      // The unsubscribe comes between the copies of "three": /room/* first, then /room/1.
      await copy('/room/*', 'test.3', 'three');
      await engine.sync();
      assert.equal((await both.unsubscribe('/room/1')).successful, true);
      await copy('/room/1', 'test.3', 'three');
      await engine.sync();
      // "four" on /room/1 first, then s unsubscribes /room/*, then its copy on /room/*.
      await copy('/room/1', 'test.4', 'four');
      await engine.sync();
      assert.equal((await s.unsubscribe('/room/*')).successful, true);
      await copy('/room/*', 'test.4', 'four');
      await server.bayeux.publish('/room/1', 'five');
      await engine.sync();
      const got = async (client: RawClient) => deliveries(await client.connect(0)).map((m) => m.data);
      assert.deepEqual(await got(s), ['two', 'one', 'three', 'four', 'five']);
      assert.deepEqual(await got(both), ['two', 'one', 'three', 'four', 'five']);
    });

    it('gives a server.subscribe callback on /room/* each broadcast once while the node starts and stops receiving /room/1', async () => {
      const { server, engine, copy } = await overlapSetUp('overlap-local');
      const local: unknown[] = [];
      server.bayeux.subscribe('/room/*', (message) => {
        local.push(message.data);
      });
      await engine.sync();
      // "one" reaches the node on /room/*, then a session makes the node receive /room/1, then its copy there comes.
      await copy('/room/*', 'local.1', 'one');
      await engine.sync();
      const client = new RawClient(server.url);
      await client.handshake();
      assert.equal((await client.subscribe('/room/1')).successful, true);
      await copy('/room/1', 'local.1', 'one');
      // "two" on /room/1 first, "three" on /room/* first; then the node stops receiving /room/1.
      await copy('/room/1', 'local.2', 'two');
      await copy('/room/*', 'local.3', 'three');
      await engine.sync();
      assert.equal((await client.unsubscribe('/room/1')).successful, true);
      await copy('/room/*', 'local.2', 'two');
      await copy('/room/1', 'local.3', 'three');
      await engine.sync();
      assert.deepEqual(local, ['one', 'three', 'two']);
    });

    it('moves a session holding /room/1 and /room/* with what it was given: a copy that comes after the move on the other pattern is not given again', async () => {
      const namespace = testNamespace('overlap-move');
      const a = await overlapNode(namespace);
      const b = await overlapNode(namespace);
      const copy = copiesOf(namespace);
      const onA = await subscribedTo(a, ['/room/*', '/room/1']);
      await copy('/room/*', 'move.1', 'one');
      await (a.bayeux.engine as RedisEngine).sync();
      const onB = new RawClient(b.url);
      onB.clientId = onA.clientId;
      assert.deepEqual(
        deliveries(await onB.connect(0)).map((m) => m.data),
        ['one'],
        'handed over',
      );
      await copy('/room/1', 'move.1', 'one');
      await copy('/room/1', 'move.2', 'two');
      await copy('/room/*', 'move.2', 'two');
      await (b.bayeux.engine as RedisEngine).sync();
      assert.deepEqual(
        deliveries(await onB.connect(0)).map((m) => m.data),
        ['two'],
      );
    });

    it("spreads the sessions' last seen over the primaries: housekeeping writes do not all land on the namespace's slot", async (t) => {
      const namespace = testNamespace('seen');
      const [node] = (await nodes(namespace, 1)) as [TestServer];
      const engine = node.bayeux.engine as RedisEngine;
      for (let i = 0; i < 300; i++) {
        await engine.createSession({
          id: `seen-${i}`,
          user: undefined,
          userKey: undefined,
          ip: `10.8.${i >> 8}.${i & 255}`,
          transport: 'long-polling',
          data: {},
        });
      }
      // The last-seen sets on each primary (each set is one key: its slot's primary holds it).
      const seenSets = (admin: Redis) => keysMatching(admin, `{${namespace}:#*}:seen`);
      const held = await Promise.all(
        admins.map(async (admin) => {
          let entries = 0;
          for (const key of await seenSets(admin)) entries += await admin.zcard(key);
          return entries;
        }),
      );
      t.diagnostic(`last-seen entries of 300 sessions per primary: ${held.join(' / ')}`);
      assert.equal(
        held.reduce((sum, n) => sum + n, 0),
        300,
        `every session has one last-seen entry: ${held.join(' / ')}`,
      );
      assert.ok(Math.max(...held) <= 2 * Math.min(...held), `last-seen entries per primary within 2x: ${held.join(' / ')}`);
      assert.equal(await engine.countSessions(), 300);
      for (let i = 0; i < 300; i++) await engine.destroySession(`seen-${i}`, 'client');
      assert.deepEqual(
        await Promise.all(admins.map(async (admin) => (await seenSets(admin)).length)),
        [0, 0, 0],
        'an ended session leaves no last-seen entry',
      );
    });

    it('keeps sessions and limits cluster-wide: a client moves between nodes, maxSessions counts both', async () => {
      const namespace = testNamespace('limits');
      const [a, b] = (await nodes(namespace, 2, 2)) as [TestServer, TestServer];
      const client = new RawClient(a.url);
      await client.handshake();
      await client.subscribe('/limits/a');
      const moved = new RawClient(b.url);
      moved.clientId = client.clientId;
      await moved.connect(0);
      await a.bayeux.publish('/limits/a', 'moved');
      await (a.bayeux.engine as RedisEngine).sync();
      await (b.bayeux.engine as RedisEngine).sync();
      assert.deepEqual(
        deliveries(await moved.connect(0)).map((m) => m.data),
        ['moved'],
      );
      assert.equal((await new RawClient(b.url).handshake()).successful, true);
      const third = await new RawClient(a.url).handshake();
      assert.equal(third.successful, false);
      assert.match(String(third.error), /^503::Too many sessions/);
    });
  });
}
