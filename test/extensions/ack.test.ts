/** Acknowledged delivery (CometD's ack extension): nothing the client did not confirm is lost. */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { BayeuxClient } from '../../lib/client/index.js';
import type { Message } from '../../lib/index.js';
import { deliveries, RawClient } from '../helpers/raw-client.js';
import { startServer, until } from '../helpers/server.js';
import { WsClient } from '../helpers/ws-client.js';

function ackConnect(client: RawClient, ack: number, timeout = 0): Promise<Message[]> {
  return client
    .send({
      channel: '/meta/connect',
      clientId: client.clientId,
      connectionType: 'long-polling',
      id: client.id(),
      advice: { timeout },
      ext: { ack },
    })
    .then((r) => r.messages);
}

const data = (messages: Message[]) => deliveries(messages).map((m) => m.data);
const batchOf = (messages: Message[]) => messages.find((m) => m.channel === '/meta/connect')?.ext?.ack;

describe('the ack extension', () => {
  it('is advertised only to clients that ask, when the server has it on', async (t) => {
    const on = await startServer({ ack: true });
    const off = await startServer({});
    t.after(() => Promise.all([on.close(), off.close()]));
    assert.equal((await new RawClient(on.url).handshake({ ext: { ack: true } })).ext?.ack, true);
    assert.equal((await new RawClient(on.url).handshake()).ext?.ack, undefined);
    assert.equal((await new RawClient(off.url).handshake({ ext: { ack: true } })).ext?.ack, undefined);
  });

  it('re-delivers, in order, what the client has not acknowledged, and forgets what it has', async (t) => {
    const server = await startServer({ ack: true });
    t.after(() => server.close());
    const client = new RawClient(server.url);
    await client.handshake({ ext: { ack: true } });
    await client.subscribe('/ack/a');
    await ackConnect(client, 0);
    for (let i = 0; i < 3; i++) await server.bayeux.publish('/ack/a', i);
    const first = await ackConnect(client, 0);
    assert.deepEqual(data(first), [0, 1, 2]);
    const batch = batchOf(first) as number;
    // The client says it has only the batch before: the reply was lost, so it comes again, with what is new.
    await server.bayeux.publish('/ack/a', 3);
    const again = await ackConnect(client, batch - 1);
    assert.deepEqual(data(again), [0, 1, 2, 3]);
    // Acknowledged: nothing comes again.
    const done = await ackConnect(client, batchOf(again) as number);
    assert.deepEqual(data(done), []);
  });

  it('re-delivers a long-poll response cut mid-way on the next connect', async (t) => {
    const server = await startServer({ ack: true, timeout: 5000 });
    t.after(() => server.close());
    const client = new RawClient(server.url);
    await client.handshake({ ext: { ack: true } });
    await client.subscribe('/ack/cut');
    const first = await ackConnect(client, 0);
    const acked = batchOf(first) as number;
    // A held connect whose response is lost: the socket is destroyed as soon as the response starts.
    const url = new URL(server.url);
    const lost = new Promise<void>((resolve) => {
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json' } },
        (res) => {
          res.destroy();
          resolve();
        },
      );
      req.on('error', () => resolve());
      req.end(
        JSON.stringify([
          { channel: '/meta/connect', clientId: client.clientId, connectionType: 'long-polling', id: 'lost', ext: { ack: acked } },
        ]),
      );
    });
    await until(async () => (await server.bayeux.stats()).held === 1, 'the held connect');
    await server.bayeux.publish('/ack/cut', 'precious');
    await lost;
    const next = await ackConnect(client, acked);
    assert.deepEqual(data(next), ['precious']);
  });

  it('works over WebSocket: deliveries travel in connect replies and come again until acknowledged', async (t) => {
    const server = await startServer({ ack: true }, { websocket: true });
    t.after(() => server.close());
    const ws = await WsClient.open(server.url);
    await ws.handshake({ ext: { ack: true } });
    await ws.subscribe('/ack/ws');
    const connect = (ack: number) => {
      const id = ws.id();
      ws.send({ channel: '/meta/connect', clientId: ws.clientId, connectionType: 'websocket', id, advice: { timeout: 0 }, ext: { ack } });
      return ws.connected(id);
    };
    const first = await connect(0);
    await server.bayeux.publish('/ack/ws', 'x');
    const before = ws.on('/ack/ws').length;
    const second = await connect(first.ext?.ack as number);
    assert.equal(ws.on('/ack/ws').length, before + 1);
    // Not acknowledged: the same message again in the next reply.
    await connect((second.ext?.ack as number) - 1);
    assert.deepEqual(
      ws.on('/ack/ws').map((m) => m.data),
      ['x', 'x'],
    );
    await ws.close();
  });

  it('lets our client with ack: true see each message once', async (t) => {
    const server = await startServer({ ack: true }, { websocket: true });
    t.after(() => server.close());
    const client = new BayeuxClient(server.url, { ack: true });
    t.after(() => client.disconnect());
    await client.connect();
    const got: unknown[] = [];
    await client.subscribe('/ack/client', (m) => got.push(m.data));
    for (let i = 0; i < 50; i++) await server.bayeux.publish('/ack/client', i);
    await until(() => got.length === 50, '50 deliveries');
    assert.deepEqual(got, [...Array(50).keys()]);
  });
});
