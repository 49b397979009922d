/**
 * A rolling restart as a deploy does it: three Redis nodes behind a balancer
 * that sends each new connection to a node whose health is ok; two of them
 * are drained one after the other while messages flow on a channel WITHOUT
 * history to long-polling and WebSocket clients. Every client gets every
 * message once, in order: what was queued on a draining node moves with
 * its session.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { BayeuxClient } from '../../lib/client/index.js';
import { healthBalancer } from '../helpers/balancer.js';
import { dropNamespace, redisMissing, testEngine, testNamespace } from '../helpers/redis.js';
import { startServer, type TestServer, until } from '../helpers/server.js';

const missing = await redisMissing();
const namespaces: string[] = [];
after(async () => {
  for (const ns of namespaces) await dropNamespace(ns);
});

describe('a rolling restart behind a balancer (Redis engine)', { skip: missing }, () => {
  it('drains two of three nodes one after the other: every client gets every message once, in order', async () => {
    const ns = testNamespace('rolling');
    namespaces.push(ns);
    const nodes: TestServer[] = [];
    for (let i = 0; i < 3; i++) {
      nodes.push(await startServer({ engine: testEngine(ns), timeout: 5000 }, { websocket: true }));
    }
    const [a, b, c] = nodes as [TestServer, TestServer, TestServer];
    const lb = await healthBalancer(() => nodes);
    const clients: BayeuxClient[] = [];
    const got: number[][] = [];
    try {
      for (let i = 0; i < 30; i++) {
        const client = new BayeuxClient(lb.url, { transports: i % 2 === 0 ? ['websocket', 'long-polling'] : ['long-polling'] });
        const mine: number[] = [];
        got.push(mine);
        clients.push(client);
        await client.connect();
        await client.subscribe('/plain/feed', (m) => {
          mine.push((m.data as { n: number }).n);
        });
      }
      let n = 0;
      const everything = Array.from({ length: 100 }, (_, i) => i);
      const publish = async (count: number) => {
        for (let i = 0; i < count; i++) await c.bayeux.publish('/plain/feed', { n: n++ });
      };
      await publish(20);
      const drainA = a.bayeux.drain({ timeout: 15_000 });
      await publish(20);
      const resultA = await drainA;
      await publish(20);
      const drainB = b.bayeux.drain({ timeout: 15_000 });
      await publish(20);
      const resultB = await drainB;
      await publish(20);
      // Bounded; on a timeout the assertions below say which client misses what.
      await until(() => got.every((mine) => mine.length >= n), 'every client to get every message', 30_000).catch(() => undefined);
      assert.equal(resultA.remaining, 0, 'every session left A');
      assert.equal(resultB.remaining, 0, 'every session left B');
      for (const [i, mine] of got.entries()) assert.deepEqual(mine, everything, `client ${i} (${clients[i]?.transport})`);
    } finally {
      await Promise.all(clients.map((client) => client.disconnect().catch(() => undefined)));
      await lb.close();
      for (const node of nodes) await node.close();
    }
  });
});
