/**
 * express-bayeux as the example app would run it (no logging), for the
 * benchmark: the memory engine, or the Redis engine with ENGINE=redis
 * (REDIS_URL, NAMESPACE; REDIS_CLUSTER, a JSON list of { host, port }, for a
 * Redis Cluster) for the multi-node run.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
// The built package (the bench scripts build it), as a user runs it: no TypeScript loader in the path.
import { bayeux, redisEngine } from 'express-bayeux';
import { profileOnSignal } from './profile.js';

profileOnSignal('express-bayeux');

const app = express();
// All load comes from 127.0.0.1: per-IP caps are raised (the peers have none).
const server = bayeux({
  logger: false,
  clientMaxConnections: 1_000_000,
  maxSessionsPerIp: 1_000_000,
  // Every simulated client comes from 127.0.0.1: per-IP limits are lifted, per-session ones stay.
  rateLimit: { ip: false },
  // The handshake cell measures how many a node can take: the admission pace would cap it.
  handshakeRate: false,
  maxSessions: 1_000_000,
  timeout: 25_000,
  // HISTORY: channel patterns whose messages are kept (the history cell).
  ...(process.env.HISTORY ? { history: { channels: process.env.HISTORY.split(',') } } : {}),
  ...(process.env.ENGINE === 'redis'
    ? {
        engine: redisEngine(
          process.env.REDIS_CLUSTER
            ? { cluster: JSON.parse(process.env.REDIS_CLUSTER), namespace: process.env.NAMESPACE }
            : { url: process.env.REDIS_URL, namespace: process.env.NAMESPACE },
        ),
      }
    : {}),
});
app.use('/cometd', server);
const http = createServer(app);
server.attach(http, { app });
http.listen(0, '127.0.0.1', async () => {
  await server.ready;
  process.stdout.write(`${JSON.stringify({ port: (http.address() as AddressInfo).port, path: '/cometd', websocket: true })}\n`);
});

// Exit cleanly on SIGTERM so --cpu-prof (BENCH_NODE_ARGS) writes its profile.
process.on('SIGTERM', () => process.exit(0));
