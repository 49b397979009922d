/** CometD's Node server (long-polling only), for the benchmark. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import cometdServer from 'cometd-nodejs-server';
import { profileOnSignal } from './profile.js';

profileOnSignal('cometd');

const cometd = cometdServer.createCometDServer({ timeout: 25_000 });
const http = createServer(cometd.handle);
http.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (http.address() as AddressInfo).port, path: '/cometd', websocket: false })}\n`);
});
