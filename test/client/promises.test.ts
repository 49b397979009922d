/**
 * README "Client" behaviour with no test of its own: the 100-message split,
 * one outstanding /meta/connect, the advised interval, re-handshake backoff,
 * maxNetworkDelay and ack de-duplication. Some run against a scripted
 * endpoint, to make the server misbehave exactly.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import express from 'express';
import { BayeuxClient, type BayeuxClientError } from '../../lib/client/index.js';
import type { BayeuxOptions, Message } from '../../lib/index.js';
import { startServer, type TestServer, until } from '../helpers/server.js';

interface Sent {
  body: string;
  at: number;
  answeredAt?: number;
}

/** Records the client's POSTs (body, send and answer times) while the test runs. */
function recordFetch(t: TestContext): Sent[] {
  const sent: Sent[] = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const entry: Sent = { body: typeof init?.body === 'string' ? init.body : '', at: performance.now() };
    sent.push(entry);
    try {
      return await realFetch(input, init);
    } finally {
      entry.answeredAt = performance.now();
    }
  };
  t.after(() => {
    globalThis.fetch = realFetch;
  });
  return sent;
}

const channelsOf = (body: string): Message[] => (body === '' ? [] : (JSON.parse(body) as Message[]));
const isConnect = (s: Sent) => channelsOf(s.body).some((m) => m.channel === '/meta/connect');

/** A scripted Bayeux endpoint: `answer` returns the reply, or undefined to never answer. */
async function scripted(t: TestContext, answer: (message: Message) => Message[] | undefined): Promise<string> {
  const app = express();
  app.post('/cometd', express.json(), (req, res) => {
    const replies: Message[] = [];
    for (const message of req.body as Message[]) {
      const reply = answer(message);
      if (reply === undefined) return;
      replies.push(...reply);
    }
    res.json(replies);
  });
  const http: Server = app.listen(0, '127.0.0.1');
  await once(http, 'listening');
  t.after(async () => {
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });
  return `http://127.0.0.1:${(http.address() as AddressInfo).port}/cometd`;
}

function handshakeReply(message: Message, ext?: Record<string, unknown>): Message {
  return {
    channel: '/meta/handshake',
    id: message.id,
    successful: true,
    clientId: 'scripted-client',
    version: '1.0',
    supportedConnectionTypes: ['long-polling'],
    advice: { reconnect: 'retry', interval: 0, timeout: 100 },
    ...(ext ? { ext } : {}),
  };
}

/** A long-polling client of a new server, subscribed to `channel`, that got `count` messages, each published while its connect was held. */
async function pollOneByOne(
  t: TestContext,
  options: BayeuxOptions,
  channel: string,
  count: number,
): Promise<{ server: TestServer; sent: Sent[] }> {
  const server = await startServer(options);
  t.after(() => server.close());
  const sent = recordFetch(t);
  const c = new BayeuxClient(server.url, { transports: ['long-polling'] });
  t.after(() => c.disconnect());
  await c.connect();
  const got: unknown[] = [];
  await c.subscribe(channel, (m) => got.push(m.data));
  for (let i = 0; i < count; i++) {
    await until(async () => (await server.bayeux.stats()).held === 1, 'the held connect');
    await server.bayeux.publish(channel, i);
    await until(() => got.length === i + 1, `delivery ${i}`);
  }
  return { server, sent };
}

describe('README: the client', () => {
  it('splits what is sent in one tick into requests of at most 100 messages, in order', async (t) => {
    const server = await startServer({});
    t.after(() => server.close());
    const sent = recordFetch(t);
    const c = new BayeuxClient(server.url, { transports: ['long-polling'] });
    t.after(() => c.disconnect());
    await c.connect();
    const got: number[] = [];
    await c.subscribe('/split/a', (m) => got.push(m.data as number));
    c.batch(() => {
      for (let i = 0; i < 250; i++) void c.publish('/split/a', i);
    });
    await until(() => got.length === 250, '250 deliveries');
    assert.deepEqual(got, [...Array(250).keys()]);
    const sizes = sent.map((s) => channelsOf(s.body).filter((m) => m.channel === '/split/a').length).filter((n) => n > 0);
    assert.deepEqual(sizes, [100, 100, 50]);
  });

  it('keeps one /meta/connect outstanding at a time', async (t) => {
    const { sent } = await pollOneByOne(t, { timeout: 60_000 }, '/one/a', 5);
    const connects = sent.filter(isConnect);
    assert.ok(connects.length >= 6, `${connects.length} connects`);
    // Each connect is sent only after the previous one was answered.
    connects.slice(1).forEach((s, i) => {
      const previous = connects[i] as Sent;
      assert.ok(previous.answeredAt !== undefined && previous.answeredAt <= s.at, `connect ${i + 2} overlapped connect ${i + 1}`);
    });
  });

  it('waits the advised interval between a connect reply and the next connect', async (t) => {
    const { server, sent } = await pollOneByOne(t, { timeout: 60_000, interval: 300 }, '/interval/a', 2);
    await until(async () => (await server.bayeux.stats()).held === 1, 'the last held connect');
    const connects = sent.filter(isConnect);
    // A loaded machine can only make the pause longer.
    connects.slice(2).forEach((s, i) => {
      const gap = s.at - ((connects[i + 1] as Sent).answeredAt as number);
      assert.ok(gap >= 299, `the next connect came ${gap.toFixed(1)} ms after the reply, under the advised 300 ms`);
    });
  });

  it('backs off repeated re-handshakes against a server that keeps forgetting it', async (t) => {
    const handshakes: number[] = [];
    const url = await scripted(t, (m) => {
      if (m.channel === '/meta/handshake') {
        handshakes.push(performance.now());
        return [handshakeReply(m)];
      }
      if (m.channel === '/meta/connect') {
        return [
          {
            channel: '/meta/connect',
            id: m.id,
            successful: false,
            error: '402::Unknown client',
            advice: { reconnect: 'handshake', interval: 0 },
          },
        ];
      }
      return [{ channel: m.channel, id: m.id, successful: true }];
    });
    const c = new BayeuxClient(url, { transports: ['long-polling'], backoff: { initial: 20, max: 160, random: () => 1 } });
    c.on('error', () => {});
    t.after(() => c.disconnect());
    void c.connect().catch(() => undefined);
    await until(() => handshakes.length >= 6, 'six handshakes');
    const gaps = handshakes.slice(0, 6).map((at, i, all) => (i === 0 ? 0 : at - (all[i - 1] as number)));
    console.log(`gaps between re-handshakes (ms): ${gaps.map((g) => g.toFixed(1)).join(', ')}`);
    // The first re-handshake may follow the advice at once; the ones after it wait longer and longer.
    const later = gaps.slice(2);
    assert.ok(
      later.every((gap, i) => gap >= Math.min(160, 20 * 2 ** (i + 1)) - 1),
      `re-handshakes ${gaps.map((g) => g.toFixed(1)).join(', ')} ms apart do not back off`,
    );
  });

  it('counts a connect as lost after the hold time plus maxNetworkDelay, and reconnects', async (t) => {
    const connects: number[] = [];
    const url = await scripted(t, (m) => {
      if (m.channel === '/meta/handshake') return [handshakeReply(m)];
      if (m.channel === '/meta/connect') {
        connects.push(performance.now());
        // The first connect (timeout 0) is answered; later ones are swallowed by the network.
        if (connects.length === 1)
          return [{ channel: '/meta/connect', id: m.id, successful: true, advice: { reconnect: 'retry', interval: 0, timeout: 100 } }];
        return undefined;
      }
      return [{ channel: m.channel, id: m.id, successful: true }];
    });
    const errors: BayeuxClientError[] = [];
    const c = new BayeuxClient(url, { transports: ['long-polling'], maxNetworkDelay: 300, backoff: { initial: 10, max: 10 } });
    c.on('error', (e) => errors.push(e));
    t.after(() => c.disconnect());
    await c.connect();
    await until(() => connects.length >= 3, 'a connect sent after the lost one');
    const waited = (connects[2] as number) - (connects[1] as number);
    assert.ok(waited >= 399, `the lost connect was given up after ${waited.toFixed(1)} ms, under 100 + 300`);
    assert.ok(
      errors.some((e) => e.code === 0 && e.channel === '/meta/connect'),
      'a network error on /meta/connect',
    );
  });

  it('with ack, gives a re-delivered message to the application once', async (t) => {
    let connects = 0;
    const delivery = (id: string, data: number): Message => ({ channel: '/ack/a', id, data });
    const url = await scripted(t, (m) => {
      if (m.channel === '/meta/handshake') return [handshakeReply(m, { ack: true })];
      if (m.channel === '/meta/connect') {
        connects += 1;
        const reply = (ack: number): Message => ({
          channel: '/meta/connect',
          id: m.id,
          successful: true,
          ext: { ack },
          advice: { timeout: 0, interval: 0, reconnect: 'retry' },
        });
        // The server did not see the ack of batch 1, so it sends m1 again with m2.
        if (connects === 2) return [delivery('m1', 1), reply(1)];
        if (connects === 3) return [delivery('m1', 1), delivery('m2', 2), reply(2)];
        if (connects === 4) return [delivery('m3', 3), reply(3)];
        return undefined;
      }
      return [{ channel: m.channel, id: m.id, successful: true }];
    });
    const c = new BayeuxClient(url, { transports: ['long-polling'], ack: true });
    t.after(() => c.disconnect());
    const got: unknown[] = [];
    c.on('message', (m) => {
      if (m.channel === '/ack/a') got.push(m.data);
    });
    await c.connect();
    await until(() => got.includes(3), 'the third message');
    assert.deepEqual(got, [1, 2, 3]);
  });
});
