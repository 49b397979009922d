/** Starts a server node in a child process (test/fixtures/redis-node.ts) and learns its port. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { bounded } from './server.js';

export interface NodeProcess {
  child: ChildProcess;
  url: string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function startNodeProcess(env: Record<string, string>): Promise<NodeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../fixtures/redis-node.ts')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  let line: string;
  try {
    [line] = (await bounded(
      Promise.race([
        once(lines, 'line'),
        once(child, 'exit').then(([code]) => {
          throw new Error(`node process exited with ${code} before listening`);
        }),
      ]),
      'the node process to listen',
      30_000,
    )) as [string];
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const { port } = JSON.parse(line) as { port: number };
  return {
    child,
    url: `http://127.0.0.1:${port}/cometd`,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill(signal);
      await exited;
    },
  };
}
