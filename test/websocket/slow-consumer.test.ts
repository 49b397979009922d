/** A client that stops reading cannot make the server hold unbounded memory. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DisconnectEvent } from '../../lib/index.js';
import { startServer } from '../helpers/server.js';
import { WsClient } from '../helpers/ws-client.js';

describe('a slow WebSocket consumer', () => {
  it('stops being written to past maxBufferedBytes, queues up to maxQueue, then loses its session', async () => {
    const server = await startServer({ maxQueue: 20, websocket: { maxBufferedBytes: 64 * 1024 } }, { websocket: true });
    try {
      const ws = await WsClient.open(server.url);
      await ws.handshake();
      await ws.subscribe('/slow/feed');
      await ws.connected(ws.connect(0));
      ws.connect();
      // Stop reading: the kernel buffers fill, then ws buffers, then the session queue.
      (ws.socket as unknown as { _socket: { pause(): void } })._socket.pause();
      let ended: DisconnectEvent | undefined;
      server.bayeux.on('disconnect', (e) => {
        ended = e;
      });
      const chunk = 'x'.repeat(32 * 1024);
      let published = 0;
      // Bounded loop: kernel buffers on loopback hold a few MB at most.
      while (ended === undefined && published < 4000) {
        await server.bayeux.publish('/slow/feed', chunk);
        published += 1;
        if (published % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      assert.ok(ended, `session still alive after ${published} messages of 32 KiB`);
      assert.equal(ended.reason, 'overflow');
      assert.equal(ended.clientId, ws.clientId);
      const stats = await server.bayeux.stats();
      assert.equal(stats.sessions, 0);
      ws.socket.terminate();
    } finally {
      await server.close();
    }
  });
});
