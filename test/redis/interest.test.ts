/**
 * Routing by interest: a node receives a channel's messages only while one of
 * its sessions or local subscribers wants them, and nothing about one session
 * goes to every node.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Message, RedisEngine, RedisEngineStats } from '../../lib/index.js';
import { deliveries, RawClient } from '../helpers/raw-client.js';
import { dropNamespace, oneRedisOnly, REDIS_URL, redisMissing, testNamespace } from '../helpers/redis.js';
import { cluster, syncAll } from '../helpers/redis-nodes.js';
import type { TestServer } from '../helpers/server.js';

const missing = await redisMissing();

function engineOf(node: TestServer): RedisEngine {
  return node.bayeux.engine as RedisEngine;
}

function stats(nodes: readonly TestServer[]): RedisEngineStats[] {
  return nodes.map((n) => engineOf(n).stats());
}

/** What changed between two readings of every node. */
function since(before: readonly RedisEngineStats[], now: readonly RedisEngineStats[]): { broadcasts: number; frames: number }[] {
  return now.map((s, i) => ({
    broadcasts: s.broadcasts - (before[i]?.broadcasts ?? 0),
    frames: s.frames - (before[i]?.frames ?? 0),
  }));
}

/** Polls until `count` deliveries arrived (each connect returns at once when messages are queued). */
async function collect(client: RawClient, count: number): Promise<Message[]> {
  const got: Message[] = [];
  for (let polls = 0; got.length < count && polls < count + 5; polls++) got.push(...deliveries(await client.connect(500)));
  return got;
}

describe('routing by interest on one Redis', { skip: missing ?? oneRedisOnly('reads PUBSUB NUMSUB of one Redis') }, () => {
  const namespace = testNamespace('interest');
  let nodes: TestServer[] = [];
  const admin = new Redis(REDIS_URL, { lazyConnect: true });
  before(async () => {
    nodes = await cluster(namespace, 3, { timeout: 1000 });
    await admin.connect();
  });
  after(async () => {
    await Promise.allSettled(nodes.map((n) => n.close()));
    admin.disconnect();
    await dropNamespace(namespace);
  });

  it('sends a channel only to the nodes whose sessions want it, and each publish once', async () => {
    const [a, b, c] = nodes as [TestServer, TestServer, TestServer];
    const users: RawClient[] = [];
    for (let i = 0; i < 10; i++) {
      const user = new RawClient(a.url);
      await user.handshake();
      assert.equal((await user.subscribe(`/user/${i}`)).successful, true);
      await user.connect(0);
      users.push(user);
    }
    const watcher = new RawClient(b.url);
    await watcher.handshake();
    await watcher.subscribe('/user/3');
    await watcher.connect(0);
    await syncAll(nodes);
    const publisher = new RawClient(c.url);
    await publisher.handshake();
    const start = stats(nodes);
    for (let n = 0; n < 100; n++) assert.equal((await publisher.publish(`/user/${n % 10}`, n)).successful, true);
    await syncAll(nodes);
    const [onA, onB, onC] = since(start, stats(nodes));
    assert.equal(onA?.broadcasts, 100, 'node A delivers every user channel');
    assert.equal(onB?.broadcasts, 10, 'node B gets only /user/3');
    assert.equal(onC?.broadcasts, 0, 'node C, with no subscriber, gets none of what it published');
    const [, onOne, , onThree] = (await admin.pubsub('NUMSUB', `${namespace}:c:/user/1`, `${namespace}:c:/user/3`)) as unknown[];
    assert.equal(onOne, 1, 'one node subscribes to /user/1 in Redis');
    assert.equal(onThree, 2, 'two nodes subscribe to /user/3');
    for (const [i, user] of users.entries()) {
      assert.deepEqual(
        (await collect(user, 10)).map((m) => m.data),
        Array.from({ length: 10 }, (_, k) => k * 10 + i),
      );
    }
    assert.deepEqual(
      (await collect(watcher, 10)).map((m) => m.data),
      [3, 13, 23, 33, 43, 53, 63, 73, 83, 93],
    );
    for (const user of [...users, watcher, publisher]) await user.disconnect();
  });

  it('routes wildcard subscriptions through their pattern, each message once per session and in order', async () => {
    const [a, b] = nodes as [TestServer, TestServer, TestServer];
    const wide = new RawClient(b.url);
    await wide.handshake();
    // Overlapping patterns: /room/* and /room/1 both match /room/1.
    assert.equal((await wide.subscribe(['/room/*', '/room/1'])).successful, true);
    await wide.connect(0);
    const deep = new RawClient(b.url);
    await deep.handshake();
    await deep.subscribe(['/room/**', '/**']);
    await deep.connect(0);
    await syncAll(nodes);
    const start = stats(nodes);
    for (let n = 0; n < 30; n++) await a.bayeux.publish(n % 3 === 2 ? '/room/1/deep' : `/room/${n % 3}`, n);
    await syncAll(nodes);
    const [onA, onB] = since(start, stats(nodes));
    assert.equal(onB?.broadcasts, 30, 'each publish routed once on B, whatever the number of its matching patterns');
    assert.equal(onA?.broadcasts, 0, 'A has no subscriber');
    assert.ok((engineOf(b).stats().copies ?? 0) > 0, 'B received the extra copies and dropped them');
    const all = Array.from({ length: 30 }, (_, n) => n);
    assert.deepEqual(
      (await collect(wide, 20)).map((m) => m.data),
      all.filter((n) => n % 3 !== 2),
    );
    assert.deepEqual(
      (await collect(deep, 30)).map((m) => m.data),
      all,
    );
    await wide.disconnect();
    await deep.disconnect();
  });

  it('stops receiving a channel once its last subscriber on the node left', async () => {
    const [a, b] = nodes as [TestServer, TestServer, TestServer];
    const client = new RawClient(b.url);
    await client.handshake();
    await client.subscribe('/leave/x');
    const local: unknown[] = [];
    const stop = b.bayeux.subscribe('/leave/y', (m) => {
      local.push(m.data);
    });
    await syncAll(nodes);
    await a.bayeux.publish('/leave/x', 'x1');
    await a.bayeux.publish('/leave/y', 'y1');
    await client.unsubscribe('/leave/x');
    stop();
    await syncAll(nodes);
    const start = stats(nodes);
    await a.bayeux.publish('/leave/x', 'x2');
    await a.bayeux.publish('/leave/y', 'y2');
    await syncAll(nodes);
    assert.deepEqual(local, ['y1'], 'the local subscriber got what was published while it was there');
    assert.equal(since(start, stats(nodes))[1]?.broadcasts, 0, 'nothing reaches B once nobody there wants it');
    assert.deepEqual(
      deliveries(await client.connect(0)).map((m) => m.data),
      ['x1'],
    );
    await client.disconnect();
  });

  describe('a long-polling session served by every node in turn', () => {
    afterEach(() => syncAll(nodes));

    it('moves between two nodes with frames to those two only, and delivers everything once, in order', async () => {
      const [a, b, c] = nodes as [TestServer, TestServer, TestServer];
      const first = new RawClient(a.url);
      await first.handshake();
      await first.subscribe('/moves/a');
      const onB = new RawClient(b.url);
      onB.clientId = first.clientId;
      await first.connect(0);
      await syncAll(nodes);
      const start = stats(nodes);
      const got: unknown[] = [];
      let published = 0;
      for (let round = 0; round < 20; round++) {
        await a.bayeux.publish('/moves/a', published++);
        // Round-robin without stickiness: every poll lands on the other node and moves the session.
        const poller = round % 2 === 0 ? onB : first;
        got.push(...deliveries(await poller.connect(0)).map((m) => m.data));
      }
      got.push(...deliveries(await first.connect(0)).map((m) => m.data));
      got.push(...deliveries(await onB.connect(0)).map((m) => m.data));
      assert.deepEqual(
        got,
        Array.from({ length: published }, (_, n) => n),
      );
      const moved = since(start, stats(nodes));
      assert.equal(moved[2]?.frames, 0, `node C, never involved, received no frame (${JSON.stringify(moved)})`);
      assert.ok((moved[0]?.frames ?? 0) > 0 && (moved[1]?.frames ?? 0) > 0, 'A and B exchanged the moves');
      await c.bayeux.publish('/moves/a', 'last');
      assert.deepEqual(
        deliveries(await first.connect(0)).map((m) => m.data),
        ['last'],
      );
      await first.disconnect();
    });

    it('answers a subscribe made on a non-owner once the owner receives the channel', async () => {
      const [a, b, c] = nodes as [TestServer, TestServer, TestServer];
      const owner = new RawClient(a.url);
      await owner.handshake();
      await owner.connect(0);
      const elsewhere = new RawClient(b.url);
      elsewhere.clientId = owner.clientId;
      for (let i = 0; i < 20; i++) {
        assert.equal((await elsewhere.subscribe(`/late/${i}`)).successful, true);
        // Published through a third node right after the reply: the owner must already be subscribed in Redis.
        await c.bayeux.publish(`/late/${i}`, i);
      }
      await syncAll(nodes);
      assert.deepEqual(
        (await collect(owner, 20)).map((m) => m.data),
        Array.from({ length: 20 }, (_, i) => i),
      );
      await owner.disconnect();
    });

    it('delivers a push made on any node to the session wherever it is', async () => {
      const [a, b, c] = nodes as [TestServer, TestServer, TestServer];
      const client = new RawClient(a.url);
      await client.handshake();
      await client.connect(0);
      const start = stats(nodes);
      assert.equal(await c.bayeux.push(client.clientId, '/pushed', 1), true);
      await syncAll(nodes);
      assert.deepEqual(
        since(start, stats(nodes)).map((s) => s.frames),
        [2, 1, 1],
        'the push to the owner only, and one sync marker each',
      );
      const moved = new RawClient(b.url);
      moved.clientId = client.clientId;
      const got = deliveries(await moved.connect(0)).map((m) => m.data);
      assert.equal(await c.bayeux.push(client.clientId, '/pushed', 2), true);
      got.push(...deliveries(await moved.connect(0)).map((m) => m.data));
      assert.deepEqual(got, [1, 2]);
      await moved.disconnect();
    });
  });
});
