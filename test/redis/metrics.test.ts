/** Metrics of the Redis engine: stream lag and session hand-overs. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parsePrometheus } from '../helpers/prometheus.js';
import { RawClient } from '../helpers/raw-client.js';
import { dropNamespace, redisMissing, testEngine, testNamespace } from '../helpers/redis.js';
import { startServer, type TestServer, until } from '../helpers/server.js';

const missing = await redisMissing();

describe('metrics with the Redis engine', { skip: missing }, () => {
  const namespace = testNamespace('metrics');
  let nodes: TestServer[] = [];
  before(async () => {
    nodes = await Promise.all([0, 1].map(() => startServer({ engine: testEngine(namespace) })));
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    await dropNamespace(namespace);
  });

  it('reports the stream lag, hand-overs by outcome, and the sessions each node delivers to', async () => {
    const [a, b] = nodes as [TestServer, TestServer];
    const registries = await Promise.all(nodes.map((n) => n.bayeux.metrics()));
    const scrape = async (i: number) => parsePrometheus(await (registries[i] as (typeof registries)[0]).metrics());
    const client = new RawClient(a.url);
    await client.handshake();
    await client.subscribe('/rm/x');
    await client.connect(0);
    const moved = new RawClient(b.url);
    moved.clientId = client.clientId;
    await moved.connect(0);
    const onB = await scrape(1);
    assert.equal(onB.get('bayeux_redis_handovers_total{outcome="received"}'), 1);
    assert.equal(onB.get('bayeux_sessions'), 1);
    assert.equal(onB.get('bayeux_subscriptions'), 1);
    assert.equal((await scrape(0)).get('bayeux_sessions'), 0);
    // Measured by each node's housekeeping tick once metrics are on.
    await until(async () => ((await scrape(0)).get('bayeux_redis_stream_lag_seconds') ?? 0) > 0, 'a stream lag sample', 15_000);
  });
});
