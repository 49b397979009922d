/** express-bayeux as the example app would run it (memory engine, no logging), for the benchmark. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
// The built package (npm run bench builds it), as a user runs it: no TypeScript loader in the path.
import { bayeux } from 'express-bayeux';

const app = express();
// All load comes from 127.0.0.1: per-IP caps are raised (the peers have none).
const server = bayeux({
  logger: false,
  clientMaxConnections: 1_000_000,
  maxSessionsPerIp: 1_000_000,
  maxSessions: 1_000_000,
  timeout: 25_000,
});
app.use('/cometd', server);
const http = createServer(app);
server.attach(http, { app });
http.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (http.address() as AddressInfo).port, path: '/cometd', websocket: true })}\n`);
});
