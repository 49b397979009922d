/** Presence across a Redis cluster: joins, leaves, a disconnect and a killed node. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BayeuxClient } from '../../lib/client/index.js';
import type { PresenceEvent } from '../../lib/index.js';
import { headerLogin, type TestUser } from '../helpers/login.js';
import { startNodeProcess } from '../helpers/node-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { dropNamespace, nodeEnv, redisMissing, testEngine, testNamespace } from '../helpers/redis.js';
import { startServer, type TestServer, until } from '../helpers/server.js';

const missing = await redisMissing();

describe('presence with the Redis engine', { skip: missing }, () => {
  it('matches the subscriptions on every node after joins, leaves, a disconnect and a killed node', async () => {
    const namespace = testNamespace('presence');
    // maxInterval must cover handshake, SIGKILL and the checks on a loaded machine: the test is about faults, not time.
    const maxInterval = 3000;
    const child = await startNodeProcess({ ...nodeEnv(namespace), MAX_INTERVAL: String(maxInterval) });
    const nodes: TestServer<TestUser>[] = [];
    let keeper: BayeuxClient | undefined;
    try {
      for (let i = 0; i < 2; i++) {
        nodes.push(
          await startServer<TestUser>(
            { timeout: 1000, maxInterval, engine: testEngine(namespace) },
            { before: (app) => app.use(headerLogin(new Set())) },
          ),
        );
      }
      const [a, b] = nodes as [TestServer<TestUser>, TestServer<TestUser>];
      const events: string[] = [];
      for (const node of nodes) {
        node.bayeux.on('join', (e: PresenceEvent<TestUser>) => events.push(`join ${e.clientId}`));
        node.bayeux.on('leave', (e: PresenceEvent<TestUser>) => events.push(`leave ${e.clientId}`));
      }
      const room = '/presence/room';
      const ids = async (node: TestServer<TestUser>) => (await node.bayeux.presence(room)).map((e) => e.clientId).sort();

      const onA = new RawClient(a.url);
      await onA.handshake();
      await onA.subscribe(room);
      // A client that keeps polling, so it is the one left at the end.
      keeper = new BayeuxClient(b.url, { transports: ['long-polling'], headers: { 'x-user': 'kim' } });
      await keeper.connect();
      await keeper.subscribe(room, () => {});
      const onDead = new RawClient(child.url);
      await onDead.handshake();
      await onDead.subscribe(room);
      // Handshaken on A, subscribed through B (a node that does not own it).
      const crossing = new RawClient(a.url);
      await crossing.handshake();
      const viaB = new RawClient(b.url);
      viaB.clientId = crossing.clientId;
      await viaB.subscribe(room);

      const everyone = [onA.clientId, keeper.clientId as string, onDead.clientId, crossing.clientId].sort();
      assert.deepEqual(await ids(a), everyone);
      assert.deepEqual(await ids(b), everyone);
      const kim = (await b.bayeux.presence(room)).find((e) => e.clientId === keeper?.clientId);
      assert.equal(kim?.userKey, 'id:kim');

      await viaB.unsubscribe(room);
      await onA.disconnect();
      const afterLeaves = [keeper.clientId as string, onDead.clientId].sort();
      assert.deepEqual(await ids(a), afterLeaves);
      assert.deepEqual(await ids(b), afterLeaves);

      await child.kill('SIGKILL');
      // The dead node's session leaves once the sweeper expires it.
      await until(async () => (await ids(a)).length === 1, "the dead node's session to leave", 10 * maxInterval);
      assert.deepEqual(await ids(b), [keeper.clientId]);
      // Joins seen by A and B (the dead node's own join was emitted there); each leave once in the cluster.
      assert.deepEqual(
        events.filter((e) => e.startsWith('join')).sort(),
        [onA.clientId, keeper.clientId, crossing.clientId].map((id) => `join ${id}`).sort(),
      );
      assert.deepEqual(
        events.filter((e) => e.startsWith('leave')).sort(),
        [crossing.clientId, onA.clientId, onDead.clientId].map((id) => `leave ${id}`).sort(),
      );
    } finally {
      await keeper?.disconnect();
      await child.kill('SIGKILL');
      await Promise.all(nodes.map((n) => n.close()));
      await dropNamespace(namespace);
    }
  });
});
