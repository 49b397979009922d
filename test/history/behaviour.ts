/**
 * Replay on subscribe, as a raw long-polling client sees it: the shared suite
 * run against every engine (memory here, Redis in redis-history.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Engine, Message } from '../../lib/index.js';
import { deliveries, RawClient } from '../helpers/raw-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

interface Position {
  offset: number;
  epoch: string;
}

function positionOf(message: Message): Position {
  return (message.ext as { position: Position }).position;
}

/** Connects until `count` deliveries arrived (each connect returns what is queued at once or after a short hold). */
export async function collect(client: RawClient, count: number): Promise<Message[]> {
  const got: Message[] = [];
  const deadline = Date.now() + 10_000;
  while (got.length < count) {
    if (Date.now() > deadline) throw new Error(`got ${got.length} of ${count} deliveries`);
    got.push(...deliveries(await client.connect(200)));
  }
  return got;
}

/** Waits until what this node published was routed back to it (the Redis engine routes through Redis). */
async function settled(server: TestServer): Promise<void> {
  const engine = server.bayeux.engine as Engine & { sync?: () => Promise<void> };
  if (engine.sync !== undefined) await engine.sync();
}

export function replayBehaviour(name: string, engine: () => Engine): void {
  describe(`replay on subscribe (${name} engine)`, () => {
    let server: TestServer;
    const channel = `/history/${Math.random().toString(36).slice(2)}`;
    const positions: Position[] = [];

    before(async () => {
      server = await startServer({ engine: engine(), history: { channels: ['/history/*', '/last/*'], size: 5 } });
      const stop = server.bayeux.subscribe(channel, (m) => {
        positions.push(positionOf(m));
      });
      for (let n = 1; n <= 7; n++) await server.bayeux.publish(channel, { n });
      await settled(server);
      stop();
    });
    after(() => server.close());

    async function subscriber(replay?: unknown, subscription = channel): Promise<{ client: RawClient; reply: Message }> {
      const client = new RawClient(server.url);
      const hs = await client.handshake();
      assert.deepEqual(hs.ext, { replay: true });
      await client.connect(0);
      const message: Message = { channel: '/meta/subscribe', clientId: client.clientId, subscription, id: client.id() };
      if (replay !== undefined) message.ext = { replay: { [subscription]: replay } };
      return { client, reply: await client.request(message) };
    }

    it('gives every message a position: an offset growing by one and one epoch', () => {
      assert.equal(positions.length, 7);
      for (let i = 1; i < 7; i++) {
        assert.equal(positions[i]?.offset, (positions[i - 1]?.offset as number) + 1);
        assert.equal(positions[i]?.epoch, positions[0]?.epoch);
      }
    });

    it('replays what is kept (size 5) with -2, then live messages, in order and once', async () => {
      const { client, reply } = await subscriber(-2);
      assert.equal(reply.successful, true);
      await server.bayeux.publish(channel, { n: 8 });
      const got = await collect(client, 6);
      assert.deepEqual(
        got.map((m) => (m.data as { n: number }).n),
        [3, 4, 5, 6, 7, 8],
      );
      assert.equal(positionOf(got[5] as Message).offset, (positions[6]?.offset as number) + 1);
      positions.push(positionOf(got[5] as Message));
    });

    it('resumes after a native position { offset, epoch }', async () => {
      const { client, reply } = await subscriber(positions[5]);
      assert.equal(reply.successful, true);
      const got = await collect(client, 2);
      assert.deepEqual(
        got.map((m) => (m.data as { n: number }).n),
        [7, 8],
      );
    });

    it('has nothing to replay at the newest position, and goes on live', async () => {
      const { client, reply } = await subscriber(positions[7]);
      assert.equal(reply.successful, true);
      await server.bayeux.publish(channel, { n: 9 });
      const got = await collect(client, 1);
      assert.deepEqual(got[0]?.data, { n: 9 });
    });

    it('refuses a position of another epoch, an evicted one and one never issued, subscribing nothing', async () => {
      const newest = positions[7] as Position;
      for (const [replay, reason] of [
        [{ offset: newest.offset, epoch: 'elsewhere' }, 'epoch'],
        [positions[0] as Position, 'evicted'],
        [{ offset: newest.offset + 100, epoch: newest.epoch }, 'unknown'],
      ] as const) {
        const { client, reply } = await subscriber(replay);
        assert.equal(reply.successful, false, reason);
        assert.match(reply.error as string, new RegExp(`^400:${channel}:replay position`));
        assert.deepEqual((reply.ext as { replay: unknown }).replay, { channel, offset: replay.offset, reason });
        await server.bayeux.publish(channel, { n: 0 });
        assert.deepEqual(deliveries(await client.connect(0)), [], 'not subscribed');
      }
    });

    it('refuses replay on a channel without history and on a pattern, and a malformed position', async () => {
      let { reply } = await subscriber(-2, '/plain/a');
      assert.match(reply.error as string, /^400:\/plain\/a:Channel keeps no history/);
      ({ reply } = await subscriber(-2, '/history/*'));
      assert.match(reply.error as string, /^400:\/history\/\*:Channel keeps no history/);
      ({ reply } = await subscriber('latest'));
      assert.match(reply.error as string, /^400:.*ext\.replay must be/);
      ({ reply } = await subscriber(-1, '/plain/a'));
      assert.equal(reply.successful, true, '-1 needs no history');
    });

    it('tells a live subscriber its position, from which a later session resumes, even before any message', async () => {
      const fresh = `/history/${Math.random().toString(36).slice(2)}`;
      const first = await subscriber(undefined, fresh);
      assert.deepEqual((first.reply.ext as { position: unknown }).position, { [fresh]: { offset: 0, epoch: '' } });
      await server.bayeux.publish(fresh, { n: 1 });
      await server.bayeux.publish(fresh, { n: 2 });
      const later = await subscriber({ offset: 0, epoch: '' }, fresh);
      assert.equal(later.reply.successful, true);
      assert.deepEqual(
        (await collect(later.client, 2)).map((m) => m.data),
        [{ n: 1 }, { n: 2 }],
      );
      const live = await subscriber(undefined, channel);
      const at = (live.reply.ext as { position: Record<string, Position> }).position[channel] as Position;
      assert.equal(at.epoch, positions[0]?.epoch);
      assert.ok(at.offset > (positions[positions.length - 1]?.offset as number));
      await server.bayeux.publish(channel, { n: 10 });
      const resumed = await subscriber(at);
      assert.deepEqual(
        (await collect(resumed.client, 1)).map((m) => m.data),
        [{ n: 10 }],
      );
    });

    it('re-subscribing with a position while messages wait in the queue gives each once, in order', async () => {
      const fresh = `/history/${Math.random().toString(36).slice(2)}`;
      const { client, reply } = await subscriber(undefined, fresh);
      const at = (reply.ext as { position: Record<string, Position> }).position[fresh] as Position;
      for (let n = 1; n <= 3; n++) await server.bayeux.publish(fresh, { n });
      await settled(server);
      // 1..3 are queued for the session; the client asks again from where it started.
      const again = await client.request({
        channel: '/meta/subscribe',
        clientId: client.clientId,
        subscription: fresh,
        id: client.id(),
        ext: { replay: { [fresh]: at } },
      });
      assert.equal(again.successful, true);
      await server.bayeux.publish(fresh, { n: 4 });
      assert.deepEqual(
        (await collect(client, 4)).map((m) => m.data),
        [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }],
      );
    });

    it('re-subscribing with a position while a batch is unacknowledged (ack extension) gives each once, in order', async () => {
      const acked = await startServer({ engine: engine(), history: { channels: ['/history/*'] }, ack: true });
      try {
        const fresh = `/history/${Math.random().toString(36).slice(2)}`;
        const client = new RawClient(acked.url);
        await client.handshake({ ext: { ack: true } });
        let batch = -1;
        const connect = async (): Promise<Message[]> => {
          const message: Message = { channel: '/meta/connect', clientId: client.clientId, connectionType: 'long-polling', id: client.id() };
          message.advice = { timeout: 200 };
          message.ext = { ack: batch };
          const res = await client.send(message);
          const reply = res.messages.find((m) => m.channel === '/meta/connect');
          batch = (reply?.ext as { ack?: number } | undefined)?.ack ?? batch;
          return deliveries(res.messages);
        };
        await connect();
        const reply = await client.request({ channel: '/meta/subscribe', clientId: client.clientId, subscription: fresh, id: client.id() });
        const at = (reply.ext as { position: Record<string, Position> }).position[fresh] as Position;
        for (let n = 1; n <= 2; n++) await acked.bayeux.publish(fresh, { n });
        await settled(acked);
        const got: Message[] = [];
        while (got.length < 2) got.push(...(await connect()));
        // 1 and 2 were sent and not acknowledged yet (the ack of their batch never left); the client asks again from the start.
        batch -= 1;
        const again = await client.request({
          channel: '/meta/subscribe',
          clientId: client.clientId,
          subscription: fresh,
          id: client.id(),
          ext: { replay: { [fresh]: at } },
        });
        assert.equal(again.successful, true);
        await acked.bayeux.publish(fresh, { n: 3 });
        const after: Message[] = [];
        const deadline = Date.now() + 10_000;
        while (!after.some((m) => (m.data as { n: number }).n === 3)) {
          if (Date.now() > deadline) throw new Error('n: 3 never came');
          after.push(...(await connect()));
        }
        assert.deepEqual(
          after.map((m) => m.data),
          [{ n: 1 }, { n: 2 }, { n: 3 }],
        );
      } finally {
        await acked.close();
      }
    });

    it('keeps the last value only with size 1', async () => {
      const last = `/last/${Math.random().toString(36).slice(2)}`;
      const small = await startServer({ engine: engine(), history: { channels: ['/last/*'], size: 1 } });
      try {
        for (let n = 1; n <= 3; n++) await small.bayeux.publish(last, { n });
        const client = new RawClient(small.url);
        await client.handshake();
        await client.connect(0);
        const reply = await client.request({
          channel: '/meta/subscribe',
          clientId: client.clientId,
          subscription: last,
          id: client.id(),
          ext: { replay: { [last]: -2 } },
        });
        assert.equal(reply.successful, true);
        const got = await collect(client, 1);
        assert.deepEqual(
          got.map((m) => m.data),
          [{ n: 3 }],
        );
      } finally {
        await small.close();
      }
    });
  });
}
