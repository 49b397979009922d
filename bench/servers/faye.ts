/**
 * Faye's Node server, for the benchmark: its memory engine, or faye-redis
 * with ENGINE=redis (REDIS_URL, NAMESPACE) for the multi-node run.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import faye from 'faye';
import fayeRedis from 'faye-redis';
import { profileOnSignal } from './profile.js';

profileOnSignal('faye');

const redis = process.env.ENGINE === 'redis' ? new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379') : undefined;
const adapter = new faye.NodeAdapter({
  mount: '/faye',
  timeout: 25,
  ...(redis
    ? { engine: { type: fayeRedis, host: redis.hostname, port: Number(redis.port || 6379), namespace: process.env.NAMESPACE ?? '' } }
    : {}),
});
const http = createServer();
adapter.attach(http);
http.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (http.address() as AddressInfo).port, path: '/faye', websocket: true })}\n`);
});
