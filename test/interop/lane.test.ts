/**
 * Logged-in CometD and Faye clients over long-polling keep the browser
 * cookie the handshake sets, so their polls take the lane (the host's
 * middleware stops seeing them) and they still get their messages.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CometD, type Message as CometDMessage } from 'cometd';
import { adapt } from 'cometd-nodejs-client';
import faye from 'faye';
import { startServer, type TestServer, until } from '../helpers/server.js';

adapt();

describe('logged-in clients over the poll lane', () => {
  let server: TestServer<{ id: string }>;
  let seen = 0;
  before(async () => {
    server = await startServer<{ id: string }>(
      {},
      {
        websocket: true,
        before: (app) =>
          app.use((req, _res, next) => {
            seen++;
            const name = req.headers['x-user'];
            if (typeof name === 'string') (req as { user?: unknown }).user = { id: name };
            next();
          }),
      },
    );
  });
  after(async () => {
    await server.close();
  });

  /** Waits until the session's poll is held, then reports how many requests the host saw. */
  async function heldThenSeen(): Promise<number> {
    await until(async () => (await server.bayeux.stats()).held >= 1, 'a held poll');
    return seen;
  }

  it('CometD client (cookies kept by cometd-nodejs-client)', async () => {
    const cometd = new CometD();
    cometd.configure({ url: server.url, logLevel: 'warn', requestHeaders: { 'x-user': 'alice' } });
    cometd.unregisterTransport('websocket');
    const handshake = await new Promise<CometDMessage>((resolve) => cometd.handshake(resolve));
    assert.equal(handshake.successful, true);
    const received: unknown[] = [];
    await new Promise<CometDMessage>((resolve) => cometd.subscribe('/lane/cometd', (m) => received.push(m.data), resolve));
    const before = await heldThenSeen();
    for (let n = 1; n <= 3; n++) {
      await server.bayeux.publish('/lane/cometd', { n });
      await until(() => received.length === n, `delivery ${n}`);
    }
    await heldThenSeen();
    assert.equal(seen, before, 'the polls after each delivery took the lane');
    assert.deepEqual(received, [{ n: 1 }, { n: 2 }, { n: 3 }]);
    await new Promise<CometDMessage>((resolve) => cometd.disconnect(resolve));
  });

  it('Faye client (cookie jar)', async () => {
    const client = new faye.Client(server.url, { timeout: 5 });
    client.disable('autodisconnect');
    client.disable('websocket');
    client.setHeader('x-user', 'bob');
    const received: unknown[] = [];
    await client.subscribe('/lane/faye', (data: unknown) => {
      received.push(data);
    });
    await until(() => client._dispatcher.connectionType !== undefined, 'a Faye transport');
    const before = await heldThenSeen();
    for (let n = 1; n <= 3; n++) {
      await server.bayeux.publish('/lane/faye', { n });
      await until(() => received.length === n, `delivery ${n}`);
    }
    await heldThenSeen();
    assert.equal(seen, before, 'the polls after each delivery took the lane');
    client.disconnect();
    await until(async () => (await server.bayeux.stats()).sessions === 0, 'the Faye session to end');
  });
});
