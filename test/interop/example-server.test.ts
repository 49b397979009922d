/** Both real clients over WebSocket against the example app. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CometD, type Message as CometDMessage } from 'cometd';
import { adapt } from 'cometd-nodejs-client';
import faye from 'faye';
import { createChatApp } from '../../example/app.js';
import { bounded, callback, until } from '../helpers/server.js';

adapt();

describe('CometD and Faye clients against the example app over WebSocket', () => {
  const chat = createChatApp({ logger: false, sessionSecret: 'interop' });
  const http = createServer(chat.app);
  let url = '';
  before(async () => {
    chat.server.attach(http, { app: chat.app });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/cometd`;
  });
  after(async () => {
    try {
      await chat.server.close();
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });

  it('lets a CometD client read the chat and call /service/echo over websocket', async () => {
    const cometd = new CometD();
    cometd.configure({ url, logLevel: 'warn' });
    try {
      const hs = await callback<CometDMessage>((done) => cometd.handshake({ ext: { name: 'cometd' } }, done), 'the handshake');
      assert.equal(hs.successful, true);
      assert.equal(cometd.getTransport()?.type, 'websocket');
      const seen: unknown[] = [];
      await callback<CometDMessage>((done) => cometd.subscribe('/chat/demo', (m) => seen.push(m.data), done), 'the subscribe');
      await chat.server.publish('/chat/demo', { user: 'server', text: 'hello' });
      await until(() => seen.length >= 1, 'the chat message');
      const echo = await callback<CometDMessage>((done) => cometd.remoteCall('echo', { ping: 1 }, 5000, done), 'the echo');
      assert.deepEqual(echo.data, { ping: 1 });
    } finally {
      await callback((done) => cometd.disconnect(done), 'the disconnect');
    }
  });

  it('lets a Faye client read the chat over websocket', async () => {
    const client = new faye.Client(url, { timeout: 5 });
    client.disable('autodisconnect');
    try {
      const seen: unknown[] = [];
      await bounded(Promise.resolve(client.subscribe('/chat/demo', (data) => seen.push(data))), 'the Faye subscribe');
      await until(() => client._dispatcher.connectionType === 'websocket', 'Faye on websocket');
      await chat.server.publish('/chat/demo', { user: 'server', text: 'hi faye' });
      await until(() => seen.length >= 1, 'the chat message');
    } finally {
      client.disconnect();
    }
    // Faye sends its disconnect without a callback: wait until the server has ended the session.
    await until(async () => (await chat.server.stats()).sessions === 0, 'the Faye session to end');
  });
});
