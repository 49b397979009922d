/**
 * The CometD client with its AckExtension loses nothing when connect responses
 * are cut on the way: a proxy between them drops every third response that
 * carries messages.
 */
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { AckExtension, CometD, type Message as CometDMessage, type Extension } from 'cometd';
import { adapt } from 'cometd-nodejs-client';
import { callback, startServer, until } from '../helpers/server.js';

adapt();

describe('ack through a proxy that drops responses', () => {
  it('delivers every message once, in order, to the CometD client', async (t) => {
    const server = await startServer({ ack: true, timeout: 2000 });
    const target = new URL(server.url);
    let withMessages = 0;
    let dropped = 0;
    const proxy = createServer((req, res) => {
      const upstream = request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (up) => {
          const chunks: Buffer[] = [];
          up.on('data', (c: Buffer) => chunks.push(c));
          up.on('end', () => {
            const body = Buffer.concat(chunks);
            // A response with deliveries: every third one never reaches the client.
            if (body.includes('"/ack/feed"') && ++withMessages % 3 === 0) {
              dropped++;
              req.socket.destroy();
              return;
            }
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.end(body);
          });
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    t.after(async () => {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      await server.close();
    });

    const cometd = new CometD();
    cometd.registerExtension('ack', new AckExtension() as Extension);
    cometd.unregisterTransport('websocket');
    cometd.configure({ url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/cometd`, logLevel: 'warn' });
    t.after(() => callback((done) => cometd.disconnect(done), 'the CometD disconnect'));
    const hs = await callback<CometDMessage>((done) => cometd.handshake(done), 'the CometD handshake');
    assert.equal(hs.successful, true);
    const got: number[] = [];
    await callback<CometDMessage>((done) => cometd.subscribe('/ack/feed', (m) => got.push(m.data as number), done), 'the subscribe');
    // One message per response, so every third message's response is cut on the way.
    for (let i = 0; i < 12; i++) {
      await server.bayeux.publish('/ack/feed', i);
      await until(() => got.includes(i), `message ${i}`, 30_000);
    }
    // Re-deliveries carry messages too, so some of those are cut again: at least every third message's first try.
    assert.ok(dropped >= 4, `${dropped} responses cut`);
    assert.deepEqual(got, [...Array(12).keys()]);
  });
});
