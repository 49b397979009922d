/**
 * `server.close()` as a SIGTERM handler sees it (issue 12, item 7): one
 * closed state, typed errors after it, `disconnect` events, and a bound.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { bayeux, type DisconnectEvent, type Engine, type Logger, memoryEngine, ServerClosedError } from '../../lib/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { startServer, until } from '../helpers/server.js';
import { WsClient } from '../helpers/ws-client.js';

const closedError = (method: string) => ({
  name: 'ServerClosedError',
  code: 'BAYEUX_SERVER_CLOSED',
  message: `server.${method}(): the Bayeux server is closed (server.close() was called); create a new bayeux() to serve again`,
});

describe('closing the server', () => {
  it('ends every session with reason closed, answers held clients, then refuses everything with typed errors', async (t) => {
    const server = await startServer({ timeout: 60_000 }, { websocket: true });
    t.after(() => server.close());
    const ended: DisconnectEvent[] = [];
    // Presence, as the example app does it: listeners publish while the server closes.
    const presence: Promise<void>[] = [];
    server.bayeux.on('disconnect', (e) => {
      ended.push(e);
      presence.push(server.bayeux.publish('/presence', { left: e.clientId }));
    });
    const polling = new RawClient(server.url);
    await polling.handshake();
    await polling.connect(0);
    const heldPoll = polling.connect();
    const socket = await WsClient.open(server.url);
    t.after(() => socket.close());
    await socket.handshake();
    await socket.connected(socket.connect(0));
    socket.connect();
    await until(async () => (await server.bayeux.stats()).held === 2, 'two held connects');

    assert.equal(server.bayeux.state, 'running');
    const closing = server.bayeux.close();
    assert.equal(server.bayeux.state, 'closing');
    assert.equal(server.bayeux.close(), closing, 'close() is idempotent');
    await closing;
    assert.equal(server.bayeux.state, 'closed');

    assert.deepEqual(ended.map((e) => e.reason).sort(), ['closed', 'closed']);
    await Promise.all(presence);
    // Held clients are answered as on a timeout: they retry, with backoff, until a server answers again.
    const [answer] = await heldPoll;
    assert.equal(answer?.successful, true);
    assert.equal(answer?.advice?.reconnect, 'retry');
    await until(() => socket.closed !== undefined, 'the socket to close');
    assert.equal(socket.closed?.code, 1001);

    const late = await new RawClient(server.url).send({
      channel: '/meta/handshake',
      version: '1.0',
      supportedConnectionTypes: ['long-polling'],
    });
    assert.equal(late.status, 503);
    assert.deepEqual(late.body, { successful: false, error: '503::the Bayeux server is closed', type: 'bayeux.closed' });

    await assert.rejects(server.bayeux.publish('/x', 1), ServerClosedError);
    await assert.rejects(server.bayeux.publish('/x', 1), closedError('publish'));
    await assert.rejects(server.bayeux.push('id', '/x', 1), closedError('push'));
    await assert.rejects(server.bayeux.stats(), closedError('stats'));
    await assert.rejects(server.bayeux.disconnect('id'), closedError('disconnect'));
    assert.throws(() => server.bayeux.subscribe('/x', () => {}), closedError('subscribe'));
    assert.throws(() => server.bayeux.attach(createServer()), closedError('attach'));
    assert.throws(() => server.bayeux.useOnUpgrade((_req, _res, next) => next()), closedError('useOnUpgrade'));
  });

  it('finishes within closeTimeout when the engine never opens or never closes', async () => {
    const warnings: string[] = [];
    const logger: Logger = { debug() {}, info() {}, warn: (_o, msg) => warnings.push(String(msg)), error() {} };
    const stuckClose: Engine = Object.assign(memoryEngine(), { close: () => new Promise<void>(() => {}) });
    const neverOpens: Engine = Object.assign(memoryEngine(), { open: () => new Promise<void>(() => {}) });
    for (const engine of [stuckClose, neverOpens]) {
      const server = bayeux({ engine, logger, closeTimeout: 200 });
      const started = Date.now();
      await server.close();
      // Generous: the bound is what matters (each of the two waits is 200 ms), not the machine's speed.
      assert.ok(Date.now() - started < 5000, `close() took ${Date.now() - started} ms`);
      assert.equal(server.state, 'closed');
    }
    assert.deepEqual(warnings, [
      'express-bayeux: the memory engine did not close within 200 ms; gave up waiting',
      'express-bayeux: the memory engine did not close within 200 ms; gave up waiting',
    ]);
  });
});
