/** A short churn: after clients come, go and vanish, the server holds nothing of them. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { churn } from '../../bench/churn.js';
import { RawClient } from '../helpers/raw-client.js';
import { startServer, until } from '../helpers/server.js';
import { WsClient } from '../helpers/ws-client.js';

function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

const HOLDERS = 10;

describe('churn', () => {
  it('leaves no session, held request, socket, IP count or timer behind once vanished sessions expire', async () => {
    // maxInterval is long enough that no client that says goodbye expires first on a loaded machine.
    const server = await startServer({ maxInterval: 4000, timeout: 60_000 }, { websocket: true });
    try {
      const baseline = timers();
      const disconnects: string[] = [];
      server.bayeux.on('disconnect', (e) => disconnects.push(e.reason));
      const result = await churn({ url: server.url, clients: 200, cycles: 3, vanish: 0.5 });
      assert.equal(result.sessions, 600);
      assert.ok(result.vanished > 200 && result.vanished < 400, `${result.vanished} vanished`);
      // What the churn never does: vanish while a poll is held, or with a socket open.
      const aborts: AbortController[] = [];
      for (let i = 0; i < HOLDERS; i++) {
        const client = new RawClient(server.url);
        await client.handshake();
        const abort = new AbortController();
        aborts.push(abort);
        fetch(server.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ channel: '/meta/connect', clientId: client.clientId, connectionType: 'long-polling' }),
          signal: abort.signal,
        }).catch(() => undefined);
      }
      const sockets: WsClient[] = [];
      for (let i = 0; i < HOLDERS; i++) {
        const ws = await WsClient.open(server.url);
        await ws.handshake();
        ws.connect();
        sockets.push(ws);
      }
      await until(async () => {
        const stats = await server.bayeux.stats();
        return stats.held === 2 * HOLDERS && stats.sockets === HOLDERS;
      }, 'the held polls and the open sockets');
      assert.deepEqual((await server.bayeux.stats()).perIp, { '127.0.0.1': 2 * HOLDERS });
      for (const abort of aborts) abort.abort();
      for (const ws of sockets) ws.socket.terminate();
      await until(async () => (await server.bayeux.stats()).sessions === 0, 'every session to end', 30_000);
      const stats = await server.bayeux.stats();
      assert.equal(stats.held, 0);
      assert.equal(stats.sockets, 0);
      assert.deepEqual(stats.perIp, {});
      assert.equal(stats.localSubscriptions, 0);
      assert.equal(disconnects.length, 600 + 2 * HOLDERS);
      const expired = disconnects.filter((r) => r === 'expired').length;
      assert.ok(expired >= result.vanished + 2 * HOLDERS, `${expired} expired, ${result.vanished + 2 * HOLDERS} vanished`);
      assert.ok(timers() <= baseline, `${timers()} timers against ${baseline} before`);
    } finally {
      await server.close();
    }
  });
});
