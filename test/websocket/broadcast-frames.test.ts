/**
 * Broadcasts are framed once and the same frame bytes go to every recipient
 * socket; what differs per socket (its own replies, piled-up batches) must
 * never leak into another socket's frame.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { until, withServer } from '../helpers/server.js';
import { WsClient } from '../helpers/ws-client.js';

async function subscribed(url: string, channel: string): Promise<WsClient> {
  const ws = await WsClient.open(url);
  await ws.handshake();
  await ws.subscribe(channel);
  await ws.connected(ws.connect(0));
  ws.connect();
  return ws;
}

describe('pre-encoded broadcast frames', () => {
  it('gives every socket the same deliveries, in order, one frame per broadcast', async () => {
    await withServer(
      {},
      async (server) => {
        const sockets = await Promise.all(Array.from({ length: 20 }, () => subscribed(server.url, '/frames/a')));
        try {
          await until(async () => (await server.bayeux.stats()).sockets === 20, 'every socket attached');
          const framesBefore = sockets.map((ws) => ws.frames);
          for (let i = 0; i < 5; i++) {
            await server.bayeux.publish('/frames/a', { i });
            await Promise.all(sockets.map((ws) => ws.waitFor(() => ws.on('/frames/a').length === i + 1, `delivery ${i}`)));
          }
          for (const [n, ws] of sockets.entries()) {
            assert.deepEqual(
              ws.on('/frames/a').map((m) => m.data),
              [0, 1, 2, 3, 4].map((i) => ({ i })),
            );
            assert.equal(ws.frames - (framesBefore[n] as number), 5, 'one frame per broadcast');
          }
        } finally {
          await Promise.all(sockets.map((ws) => ws.close()));
        }
      },
      { websocket: true },
    );
  });

  it('never mixes a socket of another channel, or its own replies, into a shared frame', async () => {
    await withServer(
      {},
      async (server) => {
        const a = await subscribed(server.url, '/frames/x');
        const b = await subscribed(server.url, '/frames/y');
        const c = await subscribed(server.url, '/frames/x');
        try {
          await until(async () => (await server.bayeux.stats()).sockets === 3, 'every socket attached');
          // Same turn: a and c share the /x frame, b gets its own, then all get the /x + /y pair.
          await Promise.all([server.bayeux.publish('/frames/x', 'x1'), server.bayeux.publish('/frames/y', 'y1')]);
          await a.waitFor(() => a.on('/frames/x').length === 1, 'x1 on a');
          await b.waitFor(() => b.on('/frames/y').length === 1, 'y1 on b');
          await c.waitFor(() => c.on('/frames/x').length === 1, 'x1 on c');
          // A reply to c's own publish travels in c's frames only.
          assert.equal((await c.publish('/frames/x', 'x2')).successful, true);
          await a.waitFor(() => a.on('/frames/x').length === 2, 'x2 on a');
          assert.deepEqual(
            a.on('/frames/x').map((m) => m.data),
            ['x1', 'x2'],
          );
          assert.deepEqual(
            b.on('/frames/y').map((m) => m.data),
            ['y1'],
          );
          assert.equal(b.on('/frames/x').length, 0);
          assert.equal(
            a.received.some((m) => m.channel === '/frames/x' && m.successful !== undefined),
            false,
            "c's publish reply never reached a",
          );
        } finally {
          await Promise.all([a, b, c].map((ws) => ws.close()));
        }
      },
      { websocket: true },
    );
  });
});
