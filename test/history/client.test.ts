/** express-bayeux/client resumes history channels by itself, over both transports, and reports gaps. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BayeuxClient, type ClientExtension, type GapEvent } from '../../lib/client/index.js';
import { Positions } from '../../lib/client/positions.js';
import { type Engine, type Message, memoryEngine, redisEngine } from '../../lib/index.js';
import { dropNamespace, REDIS_URL, redisMissing, testNamespace } from '../helpers/redis.js';
import { startServer, type TestServer, until } from '../helpers/server.js';

/** Holds the client's next handshakes until `open()`: the time a page spends offline. */
class Gate implements ClientExtension {
  closed = false;
  waiting = 0;
  private release: (() => void) | undefined;
  private opened: Promise<void> = Promise.resolve();

  close(): void {
    this.closed = true;
    this.opened = new Promise((resolve) => {
      this.release = resolve;
    });
  }

  open(): void {
    this.closed = false;
    this.release?.();
  }

  async outgoing(message: Message): Promise<Message> {
    if (message.channel === '/meta/handshake' && this.closed) {
      this.waiting++;
      await this.opened;
    }
    return message;
  }
}

const missing = await redisMissing();
const engines: [string, () => Engine, string | undefined][] = [['memory', () => memoryEngine(), undefined]];
if (missing === undefined) {
  const namespace = testNamespace('client-history');
  engines.push(['redis', () => redisEngine({ url: REDIS_URL, namespace }), namespace]);
}

for (const [engineName, engine, namespace] of engines)
  for (const transport of ['websocket', 'long-polling'] as const) {
    describe(`the client resumes history over ${transport} (${engineName} engine)`, () => {
      let server: TestServer;
      const clients: BayeuxClient[] = [];
      before(async () => {
        server = await startServer({ engine: engine(), history: { channels: ['/h/*'], size: 3 } }, { websocket: true });
      });
      after(async () => {
        await Promise.all(clients.map((c) => c.disconnect()));
        await server.close();
        if (namespace !== undefined) await dropNamespace(namespace);
      });

      async function client(gate: Gate): Promise<BayeuxClient> {
        const c = new BayeuxClient(server.url, {
          transports: transport === 'websocket' ? ['websocket', 'long-polling'] : ['long-polling'],
          extensions: [gate],
          backoff: { initial: 10, max: 100 },
        });
        clients.push(c);
        await c.connect();
        return c;
      }

      /** Ends the client's session on the server and keeps it from handshaking again until `gate.open()`. */
      async function offline(c: BayeuxClient, gate: Gate): Promise<void> {
        gate.close();
        await server.bayeux.disconnect(c.clientId as string);
        await until(() => gate.waiting > 0, 'the client to try a new handshake');
      }

      it('gets what was published while it had no session, once and in order', async () => {
        const gate = new Gate();
        const c = await client(gate);
        const got: unknown[] = [];
        const gaps: GapEvent[] = [];
        c.on('gap', (g) => gaps.push(g));
        await c.subscribe('/h/a', (m) => got.push(m.data));
        await server.bayeux.publish('/h/a', 1);
        await until(() => got.length === 1, 'the first message');
        await offline(c, gate);
        await server.bayeux.publish('/h/a', 2);
        await server.bayeux.publish('/h/a', 3);
        gate.open();
        await until(() => got.length >= 3, 'the missed messages');
        await server.bayeux.publish('/h/a', 4);
        await until(() => got.length >= 4, 'a live message');
        assert.deepEqual(got, [1, 2, 3, 4]);
        assert.deepEqual(gaps, []);
      });

      it("raises 'gap' when what it missed is no longer kept, and goes on live", async () => {
        const gate = new Gate();
        const c = await client(gate);
        const got: unknown[] = [];
        const gaps: GapEvent[] = [];
        c.on('gap', (g) => gaps.push(g));
        await c.subscribe('/h/b', (m) => got.push(m.data));
        await server.bayeux.publish('/h/b', 1);
        await until(() => got.length === 1, 'the first message');
        await offline(c, gate);
        for (let n = 2; n <= 6; n++) await server.bayeux.publish('/h/b', n);
        const resubscribed: string[] = [];
        server.bayeux.on('subscribe', (e) => {
          if (e.channel === '/h/b') resubscribed.push(e.clientId);
        });
        gate.open();
        await until(() => gaps.length === 1, "the 'gap' event");
        assert.equal(gaps[0]?.channel, '/h/b');
        assert.equal(gaps[0]?.reason, 'evicted');
        await until(() => resubscribed.includes(c.clientId as string), 'the subscription to go on live');
        await server.bayeux.publish('/h/b', 7);
        await until(() => got.includes(7), 'a live message after the gap');
        assert.deepEqual(got, [1, 7], 'nothing replayed across the gap');
      });

      it('starts from everything kept with replay -2 (last values)', async () => {
        for (let n = 1; n <= 5; n++) await server.bayeux.publish('/h/c', n);
        const c = await client(new Gate());
        const got: unknown[] = [];
        await c.subscribe('/h/c', (m) => got.push(m.data), { replay: -2 });
        await until(() => got.length >= 3, 'the kept messages');
        assert.deepEqual(got, [3, 4, 5]);
      });
    });
  }

describe('client positions', () => {
  it('drop a message at or before the last position delivered (a re-send), per epoch', () => {
    const positions = new Positions();
    const at = (offset: number, epoch = 'e1'): Message => ({ channel: '/h/a', data: offset, ext: { position: { offset, epoch } } });
    assert.equal(positions.record(at(10)), true);
    assert.equal(positions.record(at(11)), true);
    assert.equal(positions.record(at(11)), false);
    assert.equal(positions.record(at(9)), false);
    assert.equal(positions.record(at(5, 'e2')), true, 'a new epoch starts over');
    assert.equal(positions.record({ channel: '/plain', data: 1 }), true);
    assert.deepEqual(positions.of('/h/a'), { offset: 5, epoch: 'e2' });
  });
});
