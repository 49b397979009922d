/** CometD and Faye clients on one server hear each other. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CometD, type Message as CometDMessage } from 'cometd';
import { adapt } from 'cometd-nodejs-client';
import faye, { type Client as FayeClient } from 'faye';
import { callback, startServer, type TestServer, until } from '../helpers/server.js';

adapt();

for (const cometdOn of ['websocket', 'long-polling'] as const) {
  const fayeOn = cometdOn === 'websocket' ? 'long-polling' : 'websocket';
  describe(`CometD over ${cometdOn} and Faye over ${fayeOn} on one server`, () => {
    let server: TestServer;
    let cometd: CometD;
    let fayeClient: FayeClient;
    before(async () => {
      server = await startServer({}, { websocket: true });
      cometd = new CometD();
      cometd.configure({ url: server.url, logLevel: 'warn' });
      if (cometdOn === 'long-polling') cometd.unregisterTransport('websocket');
      const handshake = await callback<CometDMessage>((done) => cometd.handshake(done), 'the CometD handshake');
      assert.equal(handshake.successful, true);
      fayeClient = new faye.Client(server.url, { timeout: 5 });
      fayeClient.disable('autodisconnect');
      if (fayeOn === 'long-polling') fayeClient.disable('websocket');
      await callback<void>((done) => fayeClient.connect(() => done()), 'the Faye connect');
    });
    after(async () => {
      try {
        await callback((done) => cometd.disconnect(done), 'the CometD disconnect');
        fayeClient.disconnect();
        await until(async () => (await server.bayeux.stats()).sessions === 0, 'both sessions to end');
      } finally {
        await server.close();
      }
    });

    it('delivers a CometD publish to a Faye subscriber', async () => {
      const received: unknown[] = [];
      await fayeClient.subscribe('/cross/to-faye', (data) => received.push(data));
      const reply = await callback<CometDMessage>(
        (done) => cometd.publish('/cross/to-faye', { from: 'cometd' }, done),
        'the CometD publish',
      );
      assert.equal(reply.successful, true);
      await until(() => received.length === 1, 'the Faye delivery');
      assert.deepEqual(received, [{ from: 'cometd' }]);
    });

    it('delivers a Faye publish to a CometD subscriber', async () => {
      const received: unknown[] = [];
      await callback<CometDMessage>(
        (done) => cometd.subscribe('/cross/to-cometd', (m) => received.push(m.data), done),
        'the CometD subscribe',
      );
      await fayeClient.publish('/cross/to-cometd', { from: 'faye' });
      await until(() => received.length === 1, 'the CometD delivery');
      assert.deepEqual(received, [{ from: 'faye' }]);
      assert.equal(cometd.getTransport()?.type, cometdOn);
      await until(() => fayeClient._dispatcher.connectionType === fayeOn, `Faye on ${fayeOn}`);
    });
  });
}
