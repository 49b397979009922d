/** A short churn: after clients come, go and vanish, the server holds nothing of them. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { churn } from '../../bench/churn.js';
import { startServer, until } from '../helpers/server.js';

function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

describe('churn', () => {
  it('leaves no session, held request, socket, IP count or timer behind once vanished sessions expire', async () => {
    const server = await startServer({ maxInterval: 2000, timeout: 500 });
    try {
      const baseline = timers();
      const disconnects: string[] = [];
      server.bayeux.on('disconnect', (e) => disconnects.push(e.reason));
      const result = await churn({ url: server.url, clients: 200, cycles: 3, vanish: 0.5 });
      assert.equal(result.sessions, 600);
      assert.ok(result.vanished > 200 && result.vanished < 400, `${result.vanished} vanished`);
      await until(async () => (await server.bayeux.stats()).sessions === 0, 'every session to end', 10_000);
      const stats = await server.bayeux.stats();
      assert.equal(stats.held, 0);
      assert.equal(stats.sockets, 0);
      assert.deepEqual(stats.perIp, {});
      assert.equal(stats.localSubscriptions, 0);
      assert.equal(disconnects.length, 600);
      assert.equal(disconnects.filter((r) => r === 'expired').length, result.vanished);
      assert.ok(timers() <= baseline, `${timers()} timers against ${baseline} before`);
    } finally {
      await server.close();
    }
  });
});
