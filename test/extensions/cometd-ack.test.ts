/** CometD's own AckExtension and TimeSyncExtension against our server. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AckExtension, CometD, type Message as CometDMessage, type Extension, TimeSyncExtension } from 'cometd';
import { adapt } from 'cometd-nodejs-client';
import { timesyncExtension } from '../../lib/index.js';
import { callback, startServer, type TestServer, until } from '../helpers/server.js';

adapt();

for (const transport of ['long-polling', 'websocket'] as const) {
  describe(`CometD's ack and timesync extensions over ${transport}`, () => {
    let server: TestServer;
    let cometd: CometD;
    // The published types declare no methods on it; these are in its source.
    const timesync = new TimeSyncExtension();
    const offset = () => (timesync as unknown as { getTimeOffset(): number }).getTimeOffset();
    let samples = 0;
    before(async () => {
      server = await startServer({ ack: true, extensions: [timesyncExtension()] }, { websocket: transport === 'websocket' });
      cometd = new CometD();
      cometd.registerExtension('ack', new AckExtension() as Extension);
      cometd.registerExtension('timesync', timesync as Extension);
      // Counts the replies that carried timesync data, as the extension sees them.
      cometd.addListener('/meta/connect', (m: CometDMessage) => {
        if ((m.ext as { timesync?: unknown } | undefined)?.timesync !== undefined) samples += 1;
      });
      cometd.configure({ url: server.url, logLevel: 'warn' });
      if (transport === 'long-polling') cometd.unregisterTransport('websocket');
      const reply = await callback<CometDMessage>((done) => cometd.handshake(done), 'the CometD handshake');
      assert.equal(reply.successful, true);
      assert.equal((reply.ext as { ack?: unknown } | undefined)?.ack, true);
    });
    after(async () => {
      try {
        await callback((done) => cometd.disconnect(done), 'the CometD disconnect');
      } finally {
        await server.close();
      }
    });

    it('receives every message once, in order', async () => {
      const got: number[] = [];
      await callback<CometDMessage>((done) => cometd.subscribe('/cometd-ack/a', (m) => got.push(m.data as number), done), 'the subscribe');
      for (let i = 0; i < 100; i++) await server.bayeux.publish('/cometd-ack/a', i);
      await until(() => got.length === 100, '100 deliveries', 20_000);
      assert.deepEqual(got, [...Array(100).keys()]);
    });

    it('gets timesync replies it can compute an offset from', async () => {
      await until(() => samples > 0, 'a timesync sample', 10_000);
      assert.ok(Math.abs(offset()) < 1000, `offset ${offset()} ms on one machine`);
    });
  });
}
