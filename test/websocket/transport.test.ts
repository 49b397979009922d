import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import express from 'express';
import { WebSocketServer } from 'ws';
import { type BayeuxOptions, bayeux } from '../../lib/index.js';
import { fakeTime } from '../helpers/clock.js';
import { RawClient, rawPost } from '../helpers/raw-client.js';
import { startServer, type TestServer, until, withServer } from '../helpers/server.js';
import { WsClient } from '../helpers/ws-client.js';

function withWsServer(options: BayeuxOptions, run: (s: TestServer) => Promise<void>, websocket = true): Promise<void> {
  return withServer(options, run, { websocket });
}

describe('the WebSocket transport', () => {
  it('is advertised in supportedConnectionTypes only once attached', async () => {
    await withWsServer(
      {},
      async (server) => {
        const before = await rawPost(server.url, {
          channel: '/meta/handshake',
          version: '1.0',
          supportedConnectionTypes: ['long-polling'],
        });
        assert.deepEqual(before.messages[0]?.supportedConnectionTypes, ['long-polling', 'callback-polling']);
        server.bayeux.attach(server.http, { app: server.app });
        const after = await rawPost(server.url, { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] });
        assert.deepEqual(after.messages[0]?.supportedConnectionTypes, ['websocket', 'long-polling', 'callback-polling']);
      },
      false,
    );
  });

  it('handshakes, subscribes, publishes and delivers over one socket', async () => {
    await withWsServer({}, async (server) => {
      const ws = await WsClient.open(server.url);
      const hs = await ws.handshake();
      assert.equal(hs.successful, true);
      assert.equal((await ws.subscribe('/ws/a')).successful, true);
      const connect = await ws.connected(ws.connect(0));
      assert.equal(connect.successful, true);
      ws.connect();
      await until(async () => (await server.bayeux.stats()).held === 1, 'the held connect');
      assert.equal((await ws.publish('/ws/a', 'hello')).successful, true);
      await ws.waitFor(() => ws.on('/ws/a').length === 1, 'the delivery');
      assert.equal(ws.on('/ws/a')[0]?.data, 'hello');
      await ws.close();
    });
  });

  it('continues over a socket a session that handshook over HTTP', async () => {
    await withWsServer({}, async (server) => {
      const http = new RawClient(server.url);
      await http.handshake();
      await http.subscribe('/ws/from-http');
      const ws = await WsClient.open(server.url);
      ws.clientId = http.clientId;
      const first = await ws.connected(ws.connect(0));
      assert.equal(first.successful, true);
      ws.connect();
      await until(async () => (await server.bayeux.stats()).sockets === 1, 'the socket attached to the session');
      await server.bayeux.publish('/ws/from-http', 1);
      await ws.waitFor(() => ws.on('/ws/from-http').length === 1, 'the delivery over the socket');
      await ws.close();
    });
  });

  it('answers a held connect at the timeout and sends piled-up deliveries several per frame', async () => {
    await withWsServer({ timeout: 200 }, async (server) => {
      const ws = await WsClient.open(server.url);
      await ws.handshake();
      await ws.subscribe('/ws/pile');
      const idle = await ws.connected(ws.connect(), 5000);
      assert.equal(idle.successful, true);
      // Publish many while no connect is outstanding: they pile up in the queue.
      const publisher = new RawClient(server.url);
      await publisher.handshake();
      for (let i = 0; i < 50; i++) await server.bayeux.publish('/ws/pile', i);
      const framesBefore = ws.frames;
      ws.connect();
      await ws.waitFor(() => ws.on('/ws/pile').length === 50, '50 deliveries');
      assert.deepEqual(
        ws.on('/ws/pile').map((m) => m.data),
        [...Array(50).keys()],
      );
      assert.ok(ws.frames - framesBefore < 50, `50 messages in ${ws.frames - framesBefore} frames`);
      await ws.close();
    });
  });

  it('closes with 1003 on a binary frame', async () => {
    await withWsServer({}, async (server) => {
      const ws = await WsClient.open(server.url);
      ws.socket.send(Buffer.from([1, 2, 3]));
      await ws.waitFor(() => ws.closed !== undefined, 'the close');
      assert.equal(ws.closed?.code, 1003);
    });
  });

  it('closes with 1009 on a frame over maxPayload', async () => {
    await withWsServer({ websocket: { maxPayload: 1024 } }, async (server) => {
      const ws = await WsClient.open(server.url);
      ws.socket.send(JSON.stringify([{ channel: '/meta/handshake', ext: { pad: 'x'.repeat(2000) } }]));
      await ws.waitFor(() => ws.closed !== undefined, 'the close');
      assert.equal(ws.closed?.code, 1009);
    });
  });

  it('closes with 1009 on a 10 MB frame under the default limit, and keeps serving others', async () => {
    await withWsServer({}, async (server) => {
      const ws = await WsClient.open(server.url);
      ws.socket.send(`[{"channel":"/meta/handshake","ext":{"pad":"${'x'.repeat(10 * 1024 * 1024)}"}}]`);
      await ws.waitFor(() => ws.closed !== undefined, 'the close', 20_000);
      assert.equal(ws.closed?.code, 1009);
      const other = await WsClient.open(server.url);
      assert.equal((await other.handshake()).successful, true);
      await other.close();
    });
  });

  it('answers invalid frames with an error, then closes with 1008 after maxInvalidFrames', async () => {
    await withWsServer({ websocket: { maxInvalidFrames: 2 } }, async (server) => {
      const ws = await WsClient.open(server.url);
      ws.socket.send('not json');
      await ws.waitFor(() => ws.received.length === 1, 'the error reply');
      assert.equal(ws.received[0]?.channel, '/meta/error');
      assert.equal(ws.received[0]?.successful, false);
      assert.match(String(ws.received[0]?.error), /^400:/);
      ws.socket.send('[1,2]');
      ws.socket.send('{"no":"channel"}');
      await ws.waitFor(() => ws.closed !== undefined, 'the close');
      assert.equal(ws.closed?.code, 1008);
    });
  });

  it('keeps the session when the socket closes, and delivers what queued meanwhile on the next socket', async () => {
    await withWsServer({}, async (server) => {
      const ws = await WsClient.open(server.url);
      await ws.handshake();
      await ws.subscribe('/ws/resume');
      ws.connect();
      await until(async () => (await server.bayeux.stats()).held === 1, 'the held connect');
      await ws.close();
      await until(async () => (await server.bayeux.stats()).sockets === 0, 'the socket released');
      assert.equal((await server.bayeux.stats()).sessions, 1);
      await server.bayeux.publish('/ws/resume', 'queued');
      const again = await WsClient.open(server.url);
      again.clientId = ws.clientId;
      again.connect();
      await again.waitFor(() => again.on('/ws/resume').length === 1, 'the queued delivery');
      await again.close();
    });
  });

  it('closes the socket with 1000 after /meta/disconnect', async () => {
    await withWsServer({}, async (server) => {
      const ws = await WsClient.open(server.url);
      await ws.handshake();
      const bye = await ws.request({ channel: '/meta/disconnect', clientId: ws.clientId });
      assert.equal(bye.successful, true);
      await ws.waitFor(() => ws.closed !== undefined, 'the close');
      assert.equal(ws.closed?.code, 1000);
      assert.equal((await server.bayeux.stats()).sessions, 0);
    });
  });

  it('closes sockets with 1001 when the server closes, answering held connects first', async () => {
    const server = await startServer({}, { websocket: true });
    try {
      const ws = await WsClient.open(server.url);
      await ws.handshake();
      const held = ws.connect();
      await until(async () => (await server.bayeux.stats()).held === 1, 'the held connect');
      await server.close();
      await ws.waitFor(() => ws.closed !== undefined, 'the close');
      assert.equal(ws.closed?.code, 1001);
      assert.ok(
        ws.received.some((m) => m.id === held),
        'the held connect was answered',
      );
    } finally {
      await server.close();
    }
  });

  it('leaves upgrades on other paths to other handlers', async () => {
    const app = express();
    const server = bayeux({ logger: false });
    app.use('/cometd', server);
    const http = createServer(app);
    server.attach(http, { app });
    const other = new WebSocketServer({ noServer: true });
    http.on('upgrade', (req, socket, head) => {
      if (req.url === '/other') other.handleUpgrade(req, socket, head, (s) => s.send('other here'));
    });
    try {
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      const { port } = http.address() as AddressInfo;
      const ws = await WsClient.open(`http://127.0.0.1:${port}/other`);
      await ws.waitFor(() => ws.frames === 1, 'the other server greeting');
      await ws.close();
      const bayeuxSocket = await WsClient.open(`http://127.0.0.1:${port}/cometd`);
      assert.equal((await bayeuxSocket.handshake()).successful, true);
      await bayeuxSocket.close();
    } finally {
      await server.close();
      other.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });

  it('negotiates a subprotocol from websocket.protocols', async () => {
    await withWsServer({ websocket: { protocols: ['bayeux-json'] } }, async (server) => {
      const ws = await WsClient.open(server.url, { protocols: ['other', 'bayeux-json'] });
      assert.equal(ws.socket.protocol, 'bayeux-json');
      await ws.close();
    });
  });

  it('terminates a socket that misses the pong of one ping by the next ping', async (t) => {
    const time = fakeTime(t);
    const server = await startServer({ websocket: { pingInterval: 1000 } }, { websocket: true });
    const ws = await WsClient.open(server.url, { autoPong: false });
    // Cut from this side first if the test fails: a closing handshake could wait on fake timers.
    t.after(() => {
      ws.socket.terminate();
      return server.close();
    });
    let pings = 0;
    ws.socket.on('ping', () => {
      pings += 1;
    });
    await ws.handshake();
    time.tick(1000);
    await until(() => pings === 1, 'the first ping');
    const open = ws.closed === undefined;
    assert.ok(open, 'a socket is not cut at its first ping');
    time.tick(1000);
    await ws.waitFor(() => ws.closed !== undefined, 'the termination');
    assert.equal(ws.closed?.code, 1006);
    await until(async () => (await server.bayeux.stats()).sockets === 0, 'the socket released');
  });

  it('keeps a socket that answers pings open', async (t) => {
    const time = fakeTime(t);
    const server = await startServer({ websocket: { pingInterval: 1000 } }, { websocket: true });
    const ws = await WsClient.open(server.url);
    t.after(() => {
      ws.socket.terminate();
      return server.close();
    });
    let pings = 0;
    ws.socket.on('ping', () => {
      pings += 1;
    });
    await ws.handshake();
    for (let i = 1; i <= 5; i++) {
      time.tick(1000);
      await until(() => pings === i, `ping ${i}`);
      // The pong went out before this publish, on the same socket: once it is answered, the server has seen the pong.
      assert.equal((await ws.publish('/ws/pong', i)).successful, true);
    }
    assert.equal(ws.closed, undefined);
    await ws.close();
  });

  it('counts sockets toward the per-IP cap together with held requests', async () => {
    await withWsServer({ clientMaxConnections: 2, timeout: 10_000 }, async (server) => {
      const a = await WsClient.open(server.url);
      const poller = new RawClient(server.url);
      await poller.handshake();
      const held = poller.connect();
      await until(async () => (await server.bayeux.stats()).held === 1, 'the held request');
      await assert.rejects(WsClient.open(server.url), (error: { status?: number }) => error.status === 503);
      await server.bayeux.disconnect(poller.clientId);
      await held;
      const b = await WsClient.open(server.url);
      await a.close();
      await b.close();
    });
  });
});
