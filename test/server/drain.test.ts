/**
 * `server.drain()`: a node leaves service without losing what was queued for
 * its sessions, tells clients to go on elsewhere after a spread-out pause,
 * and a handshake storm is admitted at a bounded pace.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type Engine, memoryEngine, redisEngine } from '../../lib/index.js';
import { jittered, unavailableAdvice } from '../../lib/protocol/advice.js';
import { deliveries, RawClient } from '../helpers/raw-client.js';
import { dropNamespace, REDIS_URL, redisMissing, testNamespace } from '../helpers/redis.js';
import { startServer, until } from '../helpers/server.js';

const missing = await redisMissing();
const namespaces: string[] = [];
after(async () => {
  for (const ns of namespaces) await dropNamespace(ns);
});

function inRange(interval: unknown, low: number, high: number): void {
  assert.equal(typeof interval, 'number');
  assert.ok((interval as number) >= low && (interval as number) <= high, `interval ${String(interval)} within ${low}..${high}`);
}

describe('jittered advice', () => {
  it('spreads an interval over half to one and a half of itself', () => {
    assert.equal(
      jittered(1000, () => 0),
      500,
    );
    assert.equal(
      jittered(1000, () => 0.5),
      1000,
    );
    assert.equal(
      jittered(1000, () => 0.999),
      1499,
    );
    assert.equal(
      jittered(0, () => 0.7),
      0,
    );
  });

  it('gives a crowd refused together different pauses', () => {
    const pauses = new Set(Array.from({ length: 50 }, () => unavailableAdvice(1000).interval));
    assert.ok(pauses.size > 1, 'not all the same');
    for (const pause of pauses) inRange(pause, 500, 1500);
  });
});

describe('server.drain() (memory engine)', () => {
  it('goes draining, answers the held poll at once with its messages and retry advice, refuses handshakes, then closes', async () => {
    const server = await startServer({ engine: memoryEngine(), timeout: 20_000 });
    try {
      const client = new RawClient(server.url);
      await client.handshake();
      await client.connect(0);
      await client.subscribe('/news');
      const held = client.send({ channel: '/meta/connect', clientId: client.clientId, connectionType: 'long-polling', id: client.id() });
      await until(async () => (await server.bayeux.stats()).held === 1, 'the poll to be held');
      const drained = server.bayeux.drain({ timeout: 60_000 });
      const res = await held;
      assert.equal(res.headers.get('connection'), 'close', 'the keep-alive connection ends: the next request goes through the balancer');
      const reply = res.messages.find((m) => m.channel === '/meta/connect');
      assert.equal(reply?.successful, true);
      assert.equal(reply?.advice?.reconnect, 'retry');
      inRange(reply?.advice?.interval, 500, 1500);
      assert.deepEqual(server.bayeux.health().status, 'draining');
      assert.equal(server.bayeux.health().ok, false);
      const refused = await new RawClient(server.url).handshake();
      assert.equal(refused.successful, false);
      assert.equal(refused.error, '503::This server is draining, retry elsewhere');
      assert.equal(refused.advice?.reconnect, 'handshake');
      inRange(refused.advice?.interval, 500, 1500);
      // Still running while it drains: a poll is answered at once with what is queued, never held.
      await server.bayeux.publish('/news', { n: 1 });
      const polled = await client.connect(20_000);
      assert.deepEqual(
        deliveries(polled).map((m) => m.data),
        [{ n: 1 }],
      );
      // Memory sessions cannot move: the drain keeps answering until its timeout or a close, and says what stayed.
      await server.bayeux.close();
      const result = await drained;
      assert.equal(result.sessions, 1);
      assert.equal(result.remaining, 1);
      assert.equal(server.bayeux.state, 'closed');
      assert.equal(server.bayeux.drain(), drained, 'idempotent');
    } finally {
      await server.close();
    }
  });

  it('refuses a bad timeout with a clear error', async () => {
    const server = await startServer({ engine: memoryEngine() });
    try {
      assert.throws(() => server.bayeux.drain({ timeout: -1 }), /server\.drain\(\): "timeout" must be a non-negative integer/);
      assert.equal(server.bayeux.health().status, 'up', 'nothing started');
    } finally {
      await server.close();
    }
  });
});

describe('server.drain() (Redis engine): queued messages move with their sessions', { skip: missing }, () => {
  it('hands each session queue, on a channel without history, to the node its next poll lands on', async () => {
    const ns = testNamespace('drain');
    namespaces.push(ns);
    const a = await startServer({ engine: redisEngine({ url: REDIS_URL, namespace: ns }), timeout: 20_000 });
    const b = await startServer({ engine: redisEngine({ url: REDIS_URL, namespace: ns }), timeout: 20_000 });
    try {
      const onA = new RawClient(a.url);
      await onA.handshake();
      await onA.connect(0);
      await onA.subscribe('/plain/news');
      const held = onA.connect(20_000);
      await until(async () => (await a.bayeux.stats()).held === 1, 'the poll to be held on A');
      const drained = a.bayeux.drain({ timeout: 10_000 });
      const answered = await held;
      assert.deepEqual(deliveries(answered), []);
      // Published while A drains: A still owns the session, so the messages queue there.
      for (let n = 1; n <= 3; n++) await b.bayeux.publish('/plain/news', { n });
      await (a.bayeux.engine as Engine & { sync(): Promise<void> }).sync();
      // The balancer sends the next poll to B: B takes the session, A hands its queue over.
      const onB = new RawClient(b.url);
      onB.clientId = onA.clientId;
      const got = [];
      while (got.length < 3) got.push(...deliveries(await onB.connect(200)));
      assert.deepEqual(
        got.map((m) => m.data),
        [{ n: 1 }, { n: 2 }, { n: 3 }],
      );
      const result = await drained;
      assert.deepEqual({ sessions: result.sessions, remaining: result.remaining }, { sessions: 1, remaining: 0 });
      await b.bayeux.publish('/plain/news', { n: 4 });
      assert.deepEqual(
        deliveries(await onB.connect(5000)).map((m) => m.data),
        [{ n: 4 }],
      );
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('handshakeRate', () => {
  it('admits handshakes at the configured pace and answers the rest with jittered retry advice', async () => {
    const server = await startServer({ engine: memoryEngine(), handshakeRate: { rate: 0.001, burst: 2 } });
    try {
      assert.equal((await new RawClient(server.url).handshake()).successful, true);
      assert.equal((await new RawClient(server.url).handshake()).successful, true);
      const third = await new RawClient(server.url).handshake();
      assert.equal(third.successful, false);
      assert.equal(third.error, '503::Too many handshakes, retry later');
      assert.equal(third.advice?.reconnect, 'handshake');
      inRange(third.advice?.interval, 500, 1500);
    } finally {
      await server.close();
    }
  });

  it('is checked when the server is made', async () => {
    const { bayeux } = await import('../../lib/index.js');
    assert.throws(() => bayeux({ handshakeRate: { rate: 0 } }), /handshakeRate\.rate/);
    assert.throws(() => bayeux({ handshakeRate: 'fast' as never }), /handshakeRate/);
  });
});
