import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { BayeuxClient, BayeuxClientError, type ClientState } from '../../lib/client/index.js';
import type { Message } from '../../lib/index.js';
import { callback, startServer, type TestServer, until } from '../helpers/server.js';

for (const transport of ['websocket', 'long-polling'] as const) {
  describe(`the client over ${transport}`, () => {
    let server: TestServer;
    const clients: BayeuxClient[] = [];
    before(async () => {
      server = await startServer(
        {
          services: { echo: (m) => ({ echoed: m.data }) },
          messageACL: (_client, message) => (message.channel === '/forbidden' ? 'Not here' : true),
        },
        { websocket: true },
      );
    });
    after(async () => {
      await Promise.all(clients.map((c) => c.disconnect()));
      await server.close();
    });
    async function client(): Promise<BayeuxClient> {
      const c = new BayeuxClient(server.url, { transports: transport === 'websocket' ? ['websocket', 'long-polling'] : ['long-polling'] });
      clients.push(c);
      await c.connect();
      return c;
    }

    it(`connects over ${transport} and reports its state`, async () => {
      const c = new BayeuxClient(server.url, { transports: transport === 'websocket' ? ['websocket', 'long-polling'] : ['long-polling'] });
      clients.push(c);
      const states: ClientState[] = [];
      c.on('state', (s) => states.push(s));
      await c.connect();
      assert.equal(c.state, 'connected');
      assert.equal(c.transport, transport);
      assert.ok(c.clientId);
      assert.deepEqual(states, ['connecting', 'connected']);
    });

    it('subscribes, publishes and receives, with wildcards', async () => {
      const listener = await client();
      const publisher = await client();
      const exact: Message[] = [];
      const wild: string[] = [];
      await listener.subscribe('/c/room/a', (m) => exact.push(m));
      await listener.subscribe('/c/room/**', (m) => wild.push(m.channel));
      const reply = await publisher.publish('/c/room/a', { text: 'hi' });
      assert.equal(reply.successful, true);
      await publisher.publish('/c/room/b/deep', 2);
      await until(() => exact.length === 1 && wild.length === 2, 'the deliveries');
      assert.deepEqual(exact[0]?.data, { text: 'hi' });
      assert.deepEqual(wild, ['/c/room/a', '/c/room/b/deep']);
    });

    it('stops delivering to a cancelled subscription', async () => {
      const listener = await client();
      const got: unknown[] = [];
      const sub = await listener.subscribe('/c/cancel', (m) => got.push(m.data));
      await listener.publish('/c/cancel', 1);
      await until(() => got.length === 1, 'the first delivery');
      await sub.cancel();
      const marker: unknown[] = [];
      await listener.subscribe('/c/marker', (m) => marker.push(m.data));
      await listener.publish('/c/cancel', 2);
      await listener.publish('/c/marker', 'end');
      await until(() => marker.length === 1, 'the marker');
      assert.deepEqual(got, [1]);
    });

    it('keeps the order of 1000 messages published in one go', async () => {
      const listener = await client();
      const publisher = await client();
      const got: number[] = [];
      await listener.subscribe('/c/order', (m) => got.push(m.data as number));
      await Promise.all(Array.from({ length: 1000 }, (_, i) => publisher.publish('/c/order', i)));
      await until(() => got.length === 1000, '1000 deliveries', 30_000);
      assert.deepEqual(got, [...Array(1000).keys()]);
    });

    it('calls a service and gets its answer', async () => {
      const c = await client();
      assert.deepEqual(await c.call('/service/echo', { n: 1 }), { echoed: { n: 1 } });
      assert.deepEqual(await c.call('echo', 'x'), { echoed: 'x' });
    });

    it('rejects a refused publish with a typed error carrying the Bayeux code', async () => {
      const c = await client();
      await assert.rejects(c.publish('/forbidden', 1), (error: unknown) => {
        assert.ok(error instanceof BayeuxClientError);
        assert.equal(error.code, 403);
        assert.equal(error.message, 'Not here');
        assert.equal(error.channel, '/forbidden');
        return true;
      });
      await assert.rejects(c.publish('/bad channel', 1), (error: BayeuxClientError) => error.code === 405);
    });

    it('runs extensions on the way out and in', async () => {
      const c = new BayeuxClient(server.url, {
        transports: transport === 'websocket' ? ['websocket', 'long-polling'] : ['long-polling'],
        extensions: [
          {
            outgoing: (m) => (m.channel === '/c/ext' ? { ...m, ext: { token: 'abc' } } : m),
            incoming: (m) => (m.channel === '/c/ext' ? { ...m, data: { wrapped: m.data } } : m),
          },
        ],
      });
      clients.push(c);
      await c.connect();
      const seen = new Promise((resolve) => server.bayeux.once('publish', (e) => resolve(e.ext)));
      const got: unknown[] = [];
      await c.subscribe('/c/ext', (m) => got.push(m.data));
      await c.publish('/c/ext', 1);
      assert.deepEqual(await seen, { token: 'abc' });
      await until(() => got.length === 1, 'the delivery');
      assert.deepEqual(got, [{ wrapped: 1 }]);
    });

    it('batches what is sent in one tick into one request', async () => {
      // What the client puts on the wire: the bodies of its POSTs, or the frames of its socket.
      const sent: string[] = [];
      class CountingWebSocket {
        private readonly ws: WebSocket;
        constructor(url: string, protocols?: string | string[], options?: { headers?: Record<string, string> }) {
          this.ws = new WebSocket(url, protocols, options);
        }
        get readyState(): number {
          return this.ws.readyState;
        }
        send(data: string): void {
          sent.push(data);
          this.ws.send(data);
        }
        close(code?: number, reason?: string): void {
          this.ws.close(code, reason);
        }
        addEventListener(type: 'open' | 'close' | 'error' | 'message', listener: (event: { data?: unknown; code?: number }) => void): void {
          this.ws.addEventListener(type, (event: WebSocket.Event) =>
            listener({
              data: 'data' in event ? event.data : undefined,
              code: 'code' in event && typeof event.code === 'number' ? event.code : undefined,
            }),
          );
        }
      }
      const realFetch = globalThis.fetch;
      globalThis.fetch = (input, init) => {
        if (typeof init?.body === 'string') sent.push(init.body);
        return realFetch(input, init);
      };
      try {
        const c = new BayeuxClient(server.url, {
          transports: transport === 'websocket' ? ['websocket'] : ['long-polling'],
          WebSocket: CountingWebSocket,
        });
        clients.push(c);
        await c.connect();
        const got: unknown[] = [];
        await c.subscribe('/c/batch', (m) => got.push(m.data));
        c.batch(() => {
          for (let i = 0; i < 5; i++) void c.publish('/c/batch', i);
        });
        await until(() => got.length === 5, 'five deliveries');
        assert.deepEqual(got, [0, 1, 2, 3, 4]);
        const carrying = sent.filter((body) => body.includes('"/c/batch"') && !body.includes('/meta/subscribe'));
        assert.equal(carrying.length, 1, `the five publishes went out in ${carrying.length} requests`);
        assert.equal((JSON.parse(carrying[0] as string) as Message[]).filter((m) => m.channel === '/c/batch').length, 5);
      } finally {
        globalThis.fetch = realFetch;
      }
    });

    it('handshakes again and restores its subscriptions when the server forgets the session', async () => {
      const c = await client();
      const got: unknown[] = [];
      await c.subscribe('/c/restore', (m) => got.push(m.data));
      const first = c.clientId as string;
      const restored = callback<void>(
        (done) => server.bayeux.on('subscribe', (e) => e.channel === '/c/restore' && e.clientId !== first && done()),
        'the subscription restored on a new session',
      );
      const reconnected = new Promise<void>((resolve) => {
        const off = c.on('state', (s) => {
          if (s === 'connected') {
            off();
            resolve();
          }
        });
      });
      await server.bayeux.disconnect(first);
      await reconnected;
      assert.notEqual(c.clientId, first);
      await until(async () => (await server.bayeux.stats()).sessions > 0 && c.clientId !== undefined, 'the new session');
      // The subscription was restored on the new session: a server publish reaches it.
      await restored;
      await server.bayeux.publish('/c/restore', 'back');
      await until(() => got.length > 0, 'a delivery on the restored subscription');
      assert.deepEqual(got, ['back']);
    });
  });
}

describe('the client and its server', () => {
  it('falls back to long-polling when the server has no WebSocket', async () => {
    const server = await startServer({});
    const c = new BayeuxClient(server.url);
    try {
      await c.connect();
      assert.equal(c.transport, 'long-polling');
    } finally {
      await c.disconnect();
      await server.close();
    }
  });

  it('falls back to long-polling when the upgrade is refused', async () => {
    const server = await startServer({ websocket: { handshake: () => false } }, { websocket: true });
    const c = new BayeuxClient(server.url);
    try {
      await c.connect();
      assert.equal(c.transport, 'long-polling');
      const got: unknown[] = [];
      await c.subscribe('/fb/a', (m) => got.push(m.data));
      await c.publish('/fb/a', 1);
      await until(() => got.length === 1, 'the delivery');
    } finally {
      await c.disconnect();
      await server.close();
    }
  });

  it('stops and reports when the handshake is refused with reconnect none', async () => {
    const server = await startServer({ messageACL: (_c, m) => m.channel !== '/meta/handshake' || 'Go away' });
    const c = new BayeuxClient(server.url);
    const errors: BayeuxClientError[] = [];
    c.on('error', (e) => errors.push(e));
    try {
      await assert.rejects(c.connect(), (error: BayeuxClientError) => error.code === 403 && error.message === 'Go away');
      assert.equal(c.state, 'disconnected');
      assert.equal(errors.length, 1);
      assert.equal((await server.bayeux.stats()).sessions, 0);
    } finally {
      await server.close();
    }
  });

  it('backs off while the server is down, then survives its restart and restores subscriptions', async () => {
    let server = await startServer({}, { websocket: true });
    const port = server.port;
    const c = new BayeuxClient(server.url, { backoff: { initial: 20, max: 160, random: () => 1 } });
    const errors: BayeuxClientError[] = [];
    const failedAt: number[] = [];
    c.on('error', (e) => {
      errors.push(e);
      failedAt.push(performance.now());
    });
    try {
      await c.connect();
      const got: unknown[] = [];
      await c.subscribe('/restart/a', (m) => got.push(m.data));
      const before = errors.length;
      await server.close();
      // While the server is down the client retries with a growing delay, not in a loop:
      // a loaded machine can only make the gaps longer, never shorter than the backoff.
      await until(() => errors.length >= before + 6, 'six failed attempts', 10_000);
      const gaps = failedAt.slice(before, before + 6).map((t, i, all) => (i === 0 ? 0 : t - (all[i - 1] as number)));
      console.log(`gaps between failed attempts (ms): ${gaps.map((g) => g.toFixed(1)).join(', ')}`);
      const backoff = [20, 40, 80, 160, 160];
      gaps.slice(1).forEach((gap, i) => {
        assert.ok(
          gap >= (backoff[i] as number) - 1,
          `attempt ${i + 2} came ${gap.toFixed(1)} ms after the previous one, under the backoff ${backoff[i]} ms`,
        );
      });
      assert.equal(c.state, 'reconnecting');
      server = await startServer({}, { websocket: true, port });
      // Listening before any client I/O can reach the new server: the restored subscription shows as a subscribe event.
      const restored = callback<void>(
        (done) => server.bayeux.on('subscribe', (e) => e.channel === '/restart/a' && done()),
        'the subscription restored on the new server',
      );
      await until(() => c.state === 'connected', 'the reconnection', 10_000);
      await restored;
      await server.bayeux.publish('/restart/a', 'after');
      await until(() => got.length > 0, 'a delivery after the restart');
      assert.equal(got[0], 'after');
      assert.ok(
        errors.every((e) => e.code === 0 || e.code === 402),
        errors.map((e) => `${e.code} ${e.message}`).join('; '),
      );
    } finally {
      await c.disconnect();
      await server.close();
    }
  });
});
