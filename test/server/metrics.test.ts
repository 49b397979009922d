/** server.metrics(): Prometheus text whose numbers match what clients did. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { Message } from '../../lib/index.js';
import { parsePrometheus, type Samples } from '../helpers/prometheus.js';
import { RawClient } from '../helpers/raw-client.js';
import { until, withServer } from '../helpers/server.js';

describe('server.metrics()', () => {
  it('serves Prometheus text whose counters and gauges match the traffic', async () => {
    const registry = new Registry();
    let scrape: () => Promise<Samples> = async () => new Map();
    await withServer(
      {
        messageACL: (_client, message) => message.channel !== '/m/denied' || 'Not here',
        // Tokens come back one per 1000 s: no refill while the test runs.
        rateLimit: { session: { rate: 0.001, burst: 5 }, ip: false },
      },
      async (server) => {
        assert.equal(await server.bayeux.metrics(registry), registry);
        assert.equal(await server.bayeux.metrics(), registry, 'idempotent');
        await assert.rejects(server.bayeux.metrics(new Registry()), TypeError);
        scrape = async () => {
          const res = await fetch(server.url.replace('/cometd', '/metrics'));
          assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
          return parsePrometheus(await res.text());
        };

        const listener = new RawClient(server.url);
        await listener.handshake();
        await listener.subscribe('/m/a');
        await listener.connect(0);
        const publisher = new RawClient(server.url);
        await publisher.handshake();
        for (let i = 0; i < 3; i++) assert.equal((await publisher.publish('/m/a', i)).successful, true);
        assert.equal((await publisher.publish('/m/denied', 'x')).successful, false);
        // One token left: the first of three goes through, two are rate limited.
        const batch = [3, 4, 5].map((data) => ({ channel: '/m/a', clientId: publisher.clientId, data, id: publisher.id() }));
        const replies = (await publisher.send(batch)).messages;
        assert.deepEqual(
          replies.map((r) => r.successful),
          [true, false, false],
        );
        await server.bayeux.publish('/m/a', 'local');
        assert.equal((await listener.connect(0)).length, 6);
        await listener.disconnect();
        await publisher.connect(0);
        const held = publisher.connect();
        await until(async () => (await server.bayeux.stats()).held === 1, 'the held connect');

        const m = await scrape();
        const expected: Record<string, number> = {
          'bayeux_handshakes_total{transport="long-polling"}': 2,
          'bayeux_messages_published_total{transport="long-polling"}': 4,
          'bayeux_messages_published_total{transport="local"}': 1,
          'bayeux_messages_delivered_total{transport="long-polling"}': 5,
          'bayeux_refusals_total{channel="publish",code="403"}': 1,
          'bayeux_rate_limited_total{limit="session"}': 2,
          'bayeux_sessions_ended_total{reason="client"}': 1,
          bayeux_handshake_duration_seconds_count: 2,
          bayeux_publish_duration_seconds_count: 5,
          bayeux_sessions: 1,
          bayeux_held_polls: 1,
          bayeux_sockets: 0,
          bayeux_subscriptions: 0,
          bayeux_channels: 0,
        };
        for (const [name, value] of Object.entries(expected)) assert.equal(m.get(name), value, name);
        // A client's disconnect is no overflow.
        assert.equal(m.get('bayeux_queue_overflows_total{policy="disconnect"}'), undefined);
        // In seconds: two handshakes take far less than 30 s on any machine, and far more than 30 µs, which the
        // sum would have to stay under if it were counted in µs (a duration in ms times 1000).
        const handshakeSeconds = m.get('bayeux_handshake_duration_seconds_sum') ?? -1;
        assert.ok(handshakeSeconds > 0 && handshakeSeconds < 30, `handshake time ${handshakeSeconds}`);
        // The rate-limited client can still leave: its held connect is answered at once.
        assert.equal((await publisher.disconnect()).successful, true);
        assert.equal((await held)[0]?.error, '402::Unknown client');
      },
      {
        before: (app) =>
          app.get('/metrics', async (_req, res) => {
            res.type(registry.contentType).send(await registry.metrics());
          }),
      },
    );
  });

  it('counts subscriptions and channels of this node, and overflows by policy', async () => {
    await withServer({ maxQueue: 2, queuePolicy: 'drop-oldest' }, async (server) => {
      const registry = await server.bayeux.metrics();
      const a = new RawClient(server.url);
      await a.handshake();
      await a.subscribe(['/g/1', '/g/2']);
      const b = new RawClient(server.url);
      await b.handshake();
      await b.subscribe('/g/1');
      for (let i = 0; i < 3; i++) await server.bayeux.publish('/g/1', i);
      const m = parsePrometheus(await registry.metrics());
      assert.equal(m.get('bayeux_subscriptions'), 3);
      assert.equal(m.get('bayeux_channels'), 2);
      assert.equal(m.get('bayeux_queue_overflows_total{policy="drop-oldest"}'), 2);
    });
    await withServer({ maxQueue: 2, queuePolicy: 'disconnect' }, async (server) => {
      const registry = await server.bayeux.metrics();
      const slow = new RawClient(server.url);
      await slow.handshake();
      await slow.subscribe('/g/1');
      for (let i = 0; i < 3; i++) await server.bayeux.publish('/g/1', i);
      await until(async () => (await server.bayeux.stats()).sessions === 0, 'the overflowing session ended');
      const m = parsePrometheus(await registry.metrics());
      assert.equal(m.get('bayeux_queue_overflows_total{policy="disconnect"}'), 1);
      assert.equal(m.get('bayeux_sessions_ended_total{reason="overflow"}'), 1);
      assert.equal(m.get('bayeux_queue_overflows_total{policy="drop-oldest"}'), undefined);
    });
  });

  it('labels refusals by code and the kind of channel: meta channels by name, services, publishes', async () => {
    const denied = (message: Message) => `${message.channel} ${String(message.subscription)}`.includes('/denied');
    await withServer({ messageACL: (_c, message) => !denied(message) }, async (server) => {
      const registry = await server.bayeux.metrics();
      const client = new RawClient(server.url);
      await client.handshake();
      // No handler for this service: 404.
      assert.equal((await client.publish('/service/denied', 1)).successful, false);
      assert.equal((await client.publish('/x/denied', 1)).successful, false);
      assert.equal((await client.subscribe('/x/denied')).successful, false);
      const m = parsePrometheus(await registry.metrics());
      assert.deepEqual(
        [...m].filter(([name]) => name.startsWith('bayeux_refusals_total')),
        [
          ['bayeux_refusals_total{channel="service",code="404"}', 1],
          ['bayeux_refusals_total{channel="publish",code="403"}', 1],
          ['bayeux_refusals_total{channel="subscribe",code="403"}', 1],
        ],
      );
    });
  });
});
