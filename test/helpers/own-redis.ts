/**
 * A redis-server of the test's own, on a free port, with a command
 * connection, for tests that flush or reset statistics (never done to the
 * shared Redis). Killed by `stop()`.
 */
import { Redis } from 'ioredis';
import { startRedis } from './redis-server.js';

export interface OwnRedisClient {
  url: string;
  /** A command connection to it (disconnected by `stop()`). */
  client: Redis;
  stop(): Promise<void>;
}

export async function startOwnRedis(): Promise<OwnRedisClient> {
  const server = await startRedis();
  const client = new Redis(server.url, { lazyConnect: true, retryStrategy: (n) => (n > 50 ? null : 100) });
  client.on('error', () => {});
  const stop = async () => {
    client.disconnect();
    await server.kill();
  };
  try {
    await client.connect();
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: server.url, client, stop };
}
