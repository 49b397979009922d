/** express-bayeux on the Redis engine (REDIS_URL, NAMESPACE), for the multi-node benchmark. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { bayeux, redisEngine } from 'express-bayeux';

const app = express();
const server = bayeux({
  logger: false,
  clientMaxConnections: 1_000_000,
  maxSessionsPerIp: 1_000_000,
  maxSessions: 1_000_000,
  timeout: 25_000,
  engine: redisEngine({ url: process.env.REDIS_URL, namespace: process.env.NAMESPACE }),
});
app.use('/cometd', server);
const http = createServer(app);
server.attach(http, { app });
http.listen(0, '127.0.0.1', async () => {
  await server.ready;
  process.stdout.write(`${JSON.stringify({ port: (http.address() as AddressInfo).port, path: '/cometd', websocket: true })}\n`);
});
