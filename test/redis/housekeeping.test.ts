/** Housekeeping writes in proportion to what changed on the node, not to every session every tick. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RedisEngine } from '../../lib/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { addSubscribers, adminRedis, dropNamespace, lastSeenKey, redisMissing, testEngine, testNamespace } from '../helpers/redis.js';
import { startServer, until } from '../helpers/server.js';

const missing = await redisMissing();

describe('Redis housekeeping', { skip: missing }, () => {
  it('writes the last seen of a connected session now and then, and of idle ones only when it changes', async () => {
    const namespace = testNamespace('housekeeping');
    // maxInterval 2 s: a tick every 500 ms, a connected session's score refreshed every 500 ms.
    const server = await startServer({ maxInterval: 2000, timeout: 20_000, engine: testEngine(namespace) });
    const redis = adminRedis();
    try {
      const engine = server.bayeux.engine as RedisEngine;
      await addSubscribers(engine, 200, '/idle');
      const client = new RawClient(server.url);
      await client.handshake();
      await client.connect(0);
      const start = engine.stats().housekeepingWrites;
      const held = client.connect();
      // Three refreshes of the connected session's score: at least two housekeeping ticks went by.
      const scores = new Set<string>();
      await until(async () => {
        scores.add(String(await redis.zscore(lastSeenKey(namespace, client.clientId), client.clientId)));
        return scores.size >= 3;
      }, 'the connected session to be refreshed twice');
      const written = engine.stats().housekeepingWrites - start;
      // Writing every session every tick, as before, would be at least 2 x 201.
      assert.ok(written <= 6, `${written} last-seen writes for 1 connected and 200 idle sessions over two ticks or more`);
      // The idle ones still expire on time.
      await until(async () => (await engine.countSessions()) <= 1, 'the idle sessions to expire', 10_000);
      assert.equal(await redis.zscore(lastSeenKey(namespace, '/idle-0'), '/idle-0'), null);
      await server.close();
      await held.catch(() => undefined);
    } finally {
      redis.disconnect();
      await server.close().catch(() => undefined);
      await dropNamespace(namespace);
    }
  });
});
