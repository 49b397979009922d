import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { timesyncExtension } from '../../lib/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { startServer, until } from '../helpers/server.js';

describe('the timesync extension', () => {
  it('answers handshakes and connects with tc, ts, p and a, p covering a held connect', async (t) => {
    const server = await startServer({ extensions: [timesyncExtension()], timeout: 5000 });
    t.after(() => server.close());
    const client = new RawClient(server.url);
    const tc = Date.now() - 50;
    const hs = await client.handshake({ ext: { timesync: { tc, l: 10, o: 0 } } });
    const sync = hs.ext?.timesync as { tc: number; ts: number; p: number; a: number };
    assert.equal(sync.tc, tc);
    assert.ok(sync.ts >= tc + 50 && sync.ts <= Date.now());
    assert.ok(sync.p >= 0);
    assert.equal(sync.a, tc + 0 + 10 - sync.ts);
    await client.subscribe('/ts/a');
    const held = client.send({
      channel: '/meta/connect',
      clientId: client.clientId,
      connectionType: 'long-polling',
      ext: { timesync: { tc: Date.now(), l: 0, o: 0 } },
    });
    await until(async () => (await server.bayeux.stats()).held === 1, 'the held connect');
    const heldAt = Date.now();
    await server.bayeux.publish('/ts/a', 1);
    const publishedAt = Date.now();
    const reply = (await held).messages.find((m) => m.channel === '/meta/connect');
    const connectSync = reply?.ext?.timesync as { p: number };
    assert.ok(connectSync.p >= publishedAt - heldAt, `p = ${connectSync.p} ms includes the hold`);
  });

  it('leaves replies alone when the client does not ask', async (t) => {
    const server = await startServer({ extensions: [timesyncExtension()] });
    t.after(() => server.close());
    const hs = await new RawClient(server.url).handshake();
    assert.equal(hs.ext, undefined);
  });
});
