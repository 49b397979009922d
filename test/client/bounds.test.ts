/**
 * A client that never hangs: jittered retries, a deadline on every request, a
 * bounded outbox, a size check before sending, queued requests failed when it
 * stops, and handler errors reported.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff } from '../../lib/client/backoff.js';
import { BayeuxClient, BayeuxClientError, type ClientErrorReason } from '../../lib/client/index.js';
import type { Message } from '../../lib/index.js';
import { startServer, until } from '../helpers/server.js';

/** Resolves with the reason a promise rejected with (fails the test if it resolved). */
async function reasonOf(promise: Promise<unknown>): Promise<ClientErrorReason> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof BayeuxClientError, String(err));
    return err.reason;
  }
  assert.fail('resolved, expected a rejection');
}

describe('the client under bounds', () => {
  it('draws every retry delay at random under a doubling ceiling (full jitter)', () => {
    const firsts = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const delay = new Backoff(1000, 30_000).next();
      assert.ok(delay >= 0 && delay <= 1000, String(delay));
      firsts.add(delay);
    }
    assert.ok(firsts.size > 100, `200 clients drew only ${firsts.size} different first delays`);
    const half = new Backoff(100, 1000, () => 0.5);
    assert.deepEqual(
      Array.from({ length: 6 }, () => half.next()),
      [50, 100, 200, 400, 500, 500],
    );
  });

  it('through a server outage: holds at most maxQueued requests, settles each by its deadline, delivers after recovery', async () => {
    let server = await startServer({}, { websocket: true });
    const port = server.port;
    const c = new BayeuxClient(server.url, { backoff: { initial: 20, max: 100 }, maxQueued: 20, requestTimeout: 500 });
    c.on('error', () => {});
    try {
      await c.connect();
      const got: unknown[] = [];
      await c.subscribe('/outage/a', (m) => {
        got.push(m.data);
      });
      await server.close();
      await until(() => c.state === 'reconnecting', 'the client to notice the outage');
      const publishes = Array.from({ length: 50 }, (_, n) => reasonOf(c.publish('/outage/a', n)));
      const reasons = await Promise.all(publishes);
      const count = (reason: ClientErrorReason) => reasons.filter((r) => r === reason).length;
      assert.equal(count('queue-full'), 30, 'the 30 beyond maxQueued are refused at once');
      // Queued ones fail when a send attempt fails (network) or, at the latest, at their deadline (timeout).
      assert.equal(count('timeout') + count('network'), 20, `the 20 queued ones settle: ${JSON.stringify(reasons)}`);
      server = await startServer({}, { websocket: true, port });
      await until(() => c.state === 'connected', 'the reconnection', 10_000);
      await until(async () => {
        await c.publish('/outage/a', 'after');
        return got.includes('after');
      }, 'a publish after recovery delivered');
      assert.ok(!got.some((d) => typeof d === 'number'), 'nothing that timed out was delivered later');
    } finally {
      await c.disconnect();
      await server.close();
    }
  });

  it('refuses a message above maxMessageSize before sending, and the socket carries on', async () => {
    const server = await startServer({}, { websocket: true });
    const c = new BayeuxClient(server.url, { transports: ['websocket'], maxMessageSize: 1000 });
    try {
      await c.connect();
      const got: unknown[] = [];
      await c.subscribe('/size/a', (m) => {
        got.push(m.data);
      });
      const big = c.publish('/size/a', 'x'.repeat(5000));
      const small = c.publish('/size/a', 'small');
      assert.equal(await reasonOf(big), 'too-large');
      assert.equal((await small).successful, true);
      await until(() => got.length === 1, 'the small message');
      assert.deepEqual(got, ['small']);
      assert.equal(c.transport, 'websocket');
    } finally {
      await c.disconnect();
      await server.close();
    }
  });

  it('rejects queued requests when the client stops', async () => {
    const server = await startServer({});
    const c = new BayeuxClient(server.url, { transports: ['long-polling'] });
    try {
      // Not connected yet: the publish waits in the outbox for a session that never comes.
      const queued = c.publish('/stop/a', 1);
      await c.disconnect();
      assert.equal(await reasonOf(queued), 'stopped');
    } finally {
      await server.close();
    }
  });

  it('reports a handler that throws or rejects, and still calls the others', async () => {
    const server = await startServer({});
    const c = new BayeuxClient(server.url, { transports: ['long-polling'] });
    const failures: [unknown, Message][] = [];
    c.on('handler-error', (err, message) => failures.push([err, message]));
    try {
      await c.connect();
      const got: unknown[] = [];
      await c.subscribe('/handlers/a', async () => {
        throw new Error('async handler failed');
      });
      await c.subscribe('/handlers/a', () => {
        throw new Error('sync handler failed');
      });
      await c.subscribe('/handlers/*', (m) => {
        got.push(m.data);
      });
      await server.bayeux.publish('/handlers/a', 'hello');
      await until(() => failures.length === 2 && got.length === 1, 'both failures and the delivery');
      assert.deepEqual(failures.map(([err]) => (err as Error).message).sort(), ['async handler failed', 'sync handler failed']);
      assert.equal(failures[0]?.[1].data, 'hello');
    } finally {
      await c.disconnect();
      await server.close();
    }
  });
});
