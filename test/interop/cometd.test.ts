/**
 * The real CometD JavaScript client (with cometd-nodejs-client in Node)
 * against our server, over long-polling and WebSocket.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CometD, type Message as CometDMessage } from 'cometd';
import { adapt } from 'cometd-nodejs-client';
import { callback, startServer, type TestServer, until } from '../helpers/server.js';

// Installs XMLHttpRequest and WebSocket globals for the CometD client (this process only).
adapt();

type Transport = 'long-polling' | 'websocket';

interface Sender {
  prototype: { send(body?: unknown): void };
}
// What adapt() installed as window.XMLHttpRequest and window.WebSocket, and the CometD client sends through.
const installed = Reflect.get(globalThis, 'window') as { XMLHttpRequest: Sender; WebSocket: Sender };

/**
 * Records the bodies of the XHRs and frames sent while `run` runs. Our server's
 * sockets are of the same class: callers tell client messages by their clientId.
 */
async function recordSends(run: () => Promise<void>): Promise<string[]> {
  const sent: string[] = [];
  const originals = [installed.XMLHttpRequest, installed.WebSocket].map((type) => {
    const send = type.prototype.send;
    type.prototype.send = function (this: unknown, body?: unknown) {
      if (typeof body === 'string') sent.push(body);
      send.call(this, body);
    };
    return () => {
      type.prototype.send = send;
    };
  });
  try {
    await run();
  } finally {
    for (const restore of originals) restore();
  }
  return sent;
}

/** The message CometD calls back with; rejects after 10 s so a lost callback fails its test at once. */
function reply(run: (done: (m: CometDMessage) => void) => void): Promise<CometDMessage> {
  return callback(run, 'a CometD callback');
}

async function connected(url: string, transport: Transport, ext?: Record<string, unknown>): Promise<CometD> {
  const cometd = new CometD();
  cometd.configure({ url, logLevel: 'warn' });
  if (transport === 'long-polling') cometd.unregisterTransport('websocket');
  const handshake = await reply((done) => cometd.handshake(ext ? { ext } : {}, done));
  assert.equal(handshake.successful, true, `handshake failed: ${JSON.stringify(handshake)}`);
  assert.equal(cometd.getTransport()?.type, transport);
  return cometd;
}

function disconnect(cometd: CometD): Promise<CometDMessage> {
  return reply((done) => cometd.disconnect(done));
}

for (const transport of ['long-polling', 'websocket'] as const) {
  describe(`CometD client over ${transport}`, () => {
    let server: TestServer;
    const clients: CometD[] = [];
    before(async () => {
      server = await startServer(
        {
          services: { echo: (m) => ({ echoed: m.data }) },
          messageACL: (_client, message) => (message.channel === '/forbidden' ? 'No posting here' : true),
        },
        // Attached in both cases: long-polling then takes the poll lane.
        { websocket: true },
      );
    });
    after(async () => {
      try {
        for (const c of clients) if (!c.isDisconnected()) await disconnect(c);
      } finally {
        await server.close();
      }
    });
    async function client(): Promise<CometD> {
      const c = await connected(server.url, transport);
      clients.push(c);
      return c;
    }

    it('handshakes, subscribes, publishes and receives its own message', async () => {
      const cometd = await client();
      const received: unknown[] = [];
      const sub = await reply((done) => cometd.subscribe('/interop/a', (m) => received.push(m.data), done));
      assert.equal(sub.successful, true);
      const pub = await reply((done) => cometd.publish('/interop/a', { text: 'hi' }, done));
      assert.equal(pub.successful, true);
      await until(() => received.length === 1, 'the delivery');
      assert.deepEqual(received, [{ text: 'hi' }]);
    });

    it('receives through a wildcard subscription and stops after unsubscribing', async () => {
      const listener = await client();
      const publisher = await client();
      const received: string[] = [];
      let subscription: ReturnType<CometD['subscribe']> | undefined;
      const subscribed = await reply((done) => {
        subscription = listener.subscribe('/interop/rooms/*', (m) => received.push(m.channel), done);
      });
      assert.equal(subscribed.successful, true);
      await reply((done) => publisher.publish('/interop/rooms/x', 1, done));
      await until(() => received.length === 1, 'the wildcard delivery');
      assert.deepEqual(received, ['/interop/rooms/x']);
      assert.ok(subscription);
      const handle = subscription;
      const unsubscribed = await reply((done) => listener.unsubscribe(handle, done));
      assert.equal(unsubscribed.successful, true);
      await reply((done) => publisher.publish('/interop/rooms/y', 2, done));
      await reply((done) => publisher.publish('/interop/rooms/x', 3, done));
      // A marker published after the others: once it arrives, nothing else is in flight.
      const marker: unknown[] = [];
      await reply((done) => listener.subscribe('/interop/marker', (m) => marker.push(m.data), done));
      await reply((done) => publisher.publish('/interop/marker', 'end', done));
      await until(() => marker.length === 1, 'the marker');
      assert.deepEqual(received, ['/interop/rooms/x']);
    });

    it('calls a service with remoteCall and gets the answer alone', async () => {
      const cometd = await client();
      const answer = await reply((done) => cometd.remoteCall('echo', { n: 42 }, 5000, done));
      assert.equal(answer.successful, true);
      assert.deepEqual(answer.data, { echoed: { n: 42 } });
    });

    it('sees a publish refused by the ACL as a failed publish with the reason', async () => {
      const cometd = await client();
      const refused = await reply((done) => cometd.publish('/forbidden', 'x', done));
      assert.equal(refused.successful, false);
      assert.match(String(refused.error), /^403:.*:No posting here$/);
    });

    it('sends a batch in one request and keeps its order', async () => {
      const listener = await client();
      const received: number[] = [];
      await reply((done) => listener.subscribe('/interop/batch', (m) => received.push(m.data as number), done));
      const sent = await recordSends(async () => {
        listener.batch(() => {
          for (let i = 0; i < 20; i++) listener.publish('/interop/batch', i);
        });
        await until(() => received.length === 20, '20 deliveries');
      });
      assert.deepEqual(received, [...Array(20).keys()]);
      const fromClient = (body: string) =>
        (JSON.parse(body) as CometDMessage[]).filter((m) => m.channel === '/interop/batch' && m.clientId !== undefined);
      const carrying = sent.filter((body) => fromClient(body).length > 0);
      assert.equal(carrying.length, 1, `the batch went out in ${carrying.length} requests`);
      assert.equal(fromClient(carrying[0] as string).length, 20);
    });

    it('disconnects and ends its session on the server', async () => {
      const cometd = await client();
      const id = cometd.getClientId();
      const ended = callback<string>(
        (done) => server.bayeux.on('disconnect', (e) => e.clientId === id && done(e.reason)),
        'the disconnect event',
      );
      const bye = await disconnect(cometd);
      assert.equal(bye.successful, true);
      assert.equal(await ended, 'client');
    });
  });
}
