/**
 * A redis-server of the test's own, on a free port, for tests that flush or
 * reset statistics (never done to the shared Redis). Killed by `stop()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { bounded } from './server.js';

export interface OwnRedis {
  url: string;
  /** A command connection to it (disconnected by `stop()`). */
  client: Redis;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { lazyConnect: true, retryStrategy: (n) => (n > 50 ? null : 100) });
  client.on('error', () => {});
  const stop = async () => {
    client.disconnect();
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
  };
  try {
    let output = '';
    await bounded(
      new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('Ready to accept connections')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
      }),
      'the own redis-server to start',
      20_000,
    );
    await client.connect();
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, client, stop };
}
