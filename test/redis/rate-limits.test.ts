/** With the Redis engine a rate-limit bucket is shared by every node. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseBayeuxError } from '../../lib/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { dropNamespace, redisMissing, testEngine, testNamespace } from '../helpers/redis.js';
import { startServer, type TestServer } from '../helpers/server.js';

const missing = await redisMissing();

describe('rate limits with the Redis engine', { skip: missing }, () => {
  const namespace = testNamespace('rate');
  let nodes: TestServer[] = [];
  before(async () => {
    nodes = await Promise.all(
      [0, 1].map(() =>
        startServer(
          // One token per 1000 s: no refill while the test runs.
          {
            engine: testEngine(namespace),
            rateLimit: { session: { rate: 0.001, burst: 6 }, ip: { rate: 0.001, burst: 10 } },
          },
          { before: (app) => app.set('trust proxy', true) },
        ),
      ),
    );
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    await dropNamespace(namespace);
  });

  it('counts one session and one IP across nodes', async () => {
    const [a, b] = nodes as [TestServer, TestServer];
    const onA = new RawClient(a.url, { 'x-forwarded-for': '10.7.0.1' });
    await onA.handshake();
    const onB = new RawClient(b.url, { 'x-forwarded-for': '10.7.0.1' });
    onB.clientId = onA.clientId;
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      for (const client of [onA, onB]) {
        const reply = await client.publish('/rate/x', i);
        outcomes.push(reply.successful === true ? 'ok' : (parseBayeuxError(reply.error ?? '').args[0] ?? '?'));
      }
    }
    // The session's 6 tokens are spent on both nodes together.
    assert.deepEqual(outcomes, ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'session', 'session']);
    // The IP had 10: 1 handshake + 6 publishes spent; 3 left for another session from it, on either node.
    const second = new RawClient(b.url, { 'x-forwarded-for': '10.7.0.1' });
    assert.equal((await second.handshake()).successful, true);
    const more: string[] = [];
    for (let i = 0; i < 3; i++) {
      const reply = await second.publish('/rate/y', i);
      more.push(reply.successful === true ? 'ok' : (parseBayeuxError(reply.error ?? '').args[0] ?? '?'));
    }
    assert.deepEqual(more, ['ok', 'ok', 'ip']);
  });
});
