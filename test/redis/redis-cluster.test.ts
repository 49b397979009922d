/**
 * The Redis engine on a Redis Cluster of three primaries started by the test:
 * the engine contract, then what the cluster changes (one slot per namespace,
 * sharded pub/sub: a publish costs one shard) and what it keeps (limits and
 * sessions across nodes).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { engineContract } from '../../lib/engine.js';
import { type RedisEngine, redisEngine } from '../../lib/index.js';
import { deliveries, RawClient } from '../helpers/raw-client.js';
import { testNamespace } from '../helpers/redis.js';
import { binaryMissing, type OwnCluster, startCluster, versionMissing } from '../helpers/redis-server.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { replayBehaviour } from '../history/behaviour.js';

const missing = binaryMissing('redis-server', 'redis-cli') ?? versionMissing(7);

/** Polls `check` every 100 ms until true; throws after `ms`. */
async function eventually(check: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
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
  const servers: TestServer[] = [];
  const cluster: OwnCluster = await startCluster(3);
  after(async () => {
    for (const server of servers) await server.close();
    for (const admin of admins) admin.disconnect();
    await cluster.kill();
  });
  for (const node of cluster.nodes) {
    const admin = new Redis(node.port, '127.0.0.1');
    admins.push(admin);
    await eventually(async () => /cluster_state:ok/.test(String(await admin.call('CLUSTER', 'INFO'))), 'the cluster to form');
  }

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

    it('puts a namespace in one slot and sends a publish to one shard only, delivered on both nodes', async () => {
      const namespace = testNamespace('shard');
      const [a, b] = (await nodes(namespace, 2)) as [TestServer, TestServer];
      const listeners = [new RawClient(a.url), new RawClient(b.url)];
      for (const listener of listeners) {
        await listener.handshake();
        await listener.subscribe('/shard/a');
        await listener.connect(0);
      }
      const publisher = new RawClient(a.url);
      await publisher.handshake();
      const before = await counters(admins);
      for (let i = 0; i < 50; i++) assert.equal((await publisher.publish('/shard/a', i)).successful, true);
      await Promise.all([a, b].map((n) => (n.bayeux.engine as RedisEngine).sync()));
      const after = await counters(admins);
      const spublished = after.map((c, i) => c.spublish - (before[i]?.spublish ?? 0));
      // One SPUBLISH per pattern that can match `/shard/a` (itself, `/shard/*`, `/shard/**`, `/**`) for each
      // publish, in one script; the two sync markers are SPUBLISHes too.
      assert.deepEqual(
        spublished.filter((n) => n > 0),
        [50 * 4 + 2],
        `SPUBLISH per node: ${spublished}`,
      );
      assert.deepEqual(
        after.map((c, i) => c.publish - (before[i]?.publish ?? 0)),
        [0, 0, 0],
      );
      assert.deepEqual(
        after.map((c, i) => c.bus - (before[i]?.bus ?? 0)),
        [0, 0, 0],
        'nothing crossed the cluster bus',
      );
      for (const listener of listeners) {
        assert.deepEqual(
          deliveries(await listener.connect(0)).map((m) => m.data),
          [...Array(50).keys()],
        );
      }
      // Every key of the namespace lives on the node that owns its slot.
      const holding = await Promise.all(admins.map(async (admin) => (await admin.keys(`{${namespace}}:*`)).length));
      assert.equal(holding.filter((n) => n > 0).length, 1, `keys per node: ${holding}`);
      assert.equal(
        holding.findIndex((n) => n > 0),
        spublished.findIndex((n) => n > 0),
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
