/** Faye's Node server, for the benchmark. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import faye from 'faye';
import { profileOnSignal } from './profile.js';

profileOnSignal('faye');

const adapter = new faye.NodeAdapter({ mount: '/faye', timeout: 25 });
const http = createServer();
adapter.attach(http);
http.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (http.address() as AddressInfo).port, path: '/faye', websocket: true })}\n`);
});
