/**
 * The Redis engine through Sentinel: a primary, a replica and three
 * Sentinels of the test's own; the primary is killed under publish load and
 * delivery resumes on the promoted replica. The loss window is measured.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { redisEngine } from '../../lib/index.js';
import { FakeSentinel } from '../helpers/fake-sentinel.js';
import { PublishLoad, report, Subscriber } from '../helpers/load.js';
import { deliveries, RawClient } from '../helpers/raw-client.js';
import { binaryMissing, startRedis, startSentinels } from '../helpers/redis-server.js';
import { startServer, type TestServer, until } from '../helpers/server.js';

const missing = binaryMissing('redis-server');

/** Polls `check` every 100 ms until true; throws after `ms`. */
async function eventually(check: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('the Redis engine with Sentinel', { skip: missing }, () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  });

  it('validates the Sentinel options', () => {
    assert.throws(() => redisEngine({ sentinels: [] }), /"sentinels" must be a non-empty array/);
    assert.throws(() => redisEngine({ sentinels: [{ host: '127.0.0.1', port: 26379 }] }), /option "name"/);
    assert.throws(() => redisEngine({ name: 'mymaster' }), /only applies with "sentinels"/);
  });

  it('delivers again after the primary is killed under publish load', async (t) => {
    const primary = await startRedis();
    cleanup.push(() => primary.kill());
    const replica = await startRedis(undefined, ['--replicaof', '127.0.0.1', String(primary.port)]);
    cleanup.push(() => replica.kill());
    const admin = new Redis(replica.url);
    cleanup.push(async () => admin.disconnect());
    await eventually(async () => /master_link_status:up/.test(await admin.info('replication')), 'the replica to sync');
    const sentinels = await startSentinels('bayeux', primary.port);
    cleanup.push(() => sentinels.kill());
    // A failover needs the Sentinels to know the replica and each other (they meet through the primary).
    for (const address of sentinels.addresses) {
      const sentinel = new Redis(address.port, address.host);
      cleanup.push(async () => sentinel.disconnect());
      await eventually(async () => {
        const peers = (await sentinel.call('SENTINEL', 'SENTINELS', 'bayeux')) as unknown[];
        const replicas = (await sentinel.call('SENTINEL', 'REPLICAS', 'bayeux')) as unknown[];
        return peers.length === 2 && replicas.length === 1;
      }, 'the Sentinels to meet');
    }
    const options = { sentinels: sentinels.addresses, name: 'bayeux', namespace: 'failover', commandTimeout: 1000 };
    const nodes: TestServer[] = [];
    for (let i = 0; i < 2; i++) {
      const node = await startServer({ timeout: 2000, engine: redisEngine(options) });
      cleanup.push(() => node.close());
      nodes.push(node);
    }
    const [a, b] = nodes as [TestServer, TestServer];
    const subscriber = new Subscriber(b.url, '/failover/a');
    await subscriber.start();
    cleanup.push(() => subscriber.stop());
    const load = new PublishLoad(a.url, '/failover/a', 20);
    load.start();
    await subscriber.count(20);
    const killedAt = Date.now();
    await primary.kill();
    // Delivery resumes: a message published after the kill arrives.
    await eventually(
      async () => [...subscriber.received.keys()].some((seq) => (load.accepted.get(seq) ?? 0) > killedAt),
      'a delivery after the failover',
      60_000,
    ).catch((err: Error) => {
      // Say which node did not come back: that is where to look.
      const nodesHealth = JSON.stringify({ publishing: a.bayeux.health(), subscribed: b.bayeux.health() });
      throw new Error(`${err.message}; ${nodesHealth}, ${load.refused} publishes refused`);
    });
    await load.stop();
    await subscriber.end();
    const result = report(load, subscriber, killedAt);
    t.diagnostic(`sentinel failover: ${JSON.stringify(result)}, subscriber handshakes ${subscriber.handshakes}`);
    const sentinel = new Redis(sentinels.addresses[0]?.port ?? 0, '127.0.0.1');
    cleanup.push(async () => sentinel.disconnect());
    const [, port] = (await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'bayeux')) as [string, string];
    assert.equal(Number(port), replica.port, 'the replica was promoted');
    assert.ok(result.delivered > 20, JSON.stringify(result));
    // What can be lost is what the publishing node got accepted by the new primary before the
    // subscriber's node had subscribed there again; from its first delivery after the kill on,
    // nothing is (one publisher: delivery is in order).
    const resumedAt = Math.min(...[...subscriber.received.keys()].filter((seq) => (load.accepted.get(seq) ?? 0) > killedAt));
    const lostAfter = [...load.accepted.keys()].filter((seq) => seq > resumedAt && !subscriber.received.has(seq));
    assert.deepEqual(lostAfter, [], JSON.stringify(result));
    assert.ok(result.recoveryMs < 60_000, JSON.stringify(result));
    assert.ok(a.bayeux.health().ok && b.bayeux.health().ok);
  });

  // ioredis ends a connection for good when a failover is announced while it is asking the
  // Sentinels for the primary (its connector is told to disconnect mid-connect and the connect
  // fails with "Connection is closed."). Under load this happened in 3 of 10 runs of the test above.
  it('serves again when ioredis gives a connection up: a failover announced while it asks for the primary', async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.kill());
    const sentinel = new FakeSentinel('bayeux', { host: '127.0.0.1', port: redis.port });
    await sentinel.start();
    cleanup.push(() => sentinel.close());
    // ioredis gives a Sentinel `commandTimeout` to answer: long, so the held question does not time out.
    const engine = redisEngine({
      sentinels: [{ host: '127.0.0.1', port: sentinel.port }],
      name: 'bayeux',
      namespace: 'gave-up',
      commandTimeout: 10_000,
    });
    const server = await startServer({ engine });
    cleanup.push(() => server.close());
    await until(() => sentinel.watchers.size === 2, "both connections' failover detectors to subscribe");

    // Both connections lose Redis and ask the Sentinel where the primary is; the Sentinel
    // announces the failover before it answers (to the same Redis: where it is does not matter).
    sentinel.hold();
    const admin = new Redis(redis.url);
    cleanup.push(async () => admin.disconnect());
    await admin.call('CLIENT', 'KILL', 'TYPE', 'normal');
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await until(() => sentinel.waiting === 2, 'both connections to ask the Sentinel for the primary');
    assert.equal(server.bayeux.health().ok, false);
    sentinel.switchMaster({ host: '127.0.0.1', port: redis.port });
    await until(() => sentinel.watchers.size === 0, 'the failover detectors to act on the announcement');
    sentinel.release();

    await until(() => server.bayeux.health().ok, 'the engine to serve again');
    const subscriber = new RawClient(server.url);
    await subscriber.handshake();
    assert.equal((await subscriber.subscribe('/gave-up')).successful, true);
    const publisher = new RawClient(server.url);
    await publisher.handshake();
    assert.equal((await publisher.publish('/gave-up', { after: 'failover' })).successful, true);
    assert.deepEqual(
      deliveries(await subscriber.connect()).map((m) => m.data),
      [{ after: 'failover' }],
    );
  });
});
