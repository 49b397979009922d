/**
 * Debian's nginx in front of a test's server: started on a free port with a
 * config written to a temporary directory (pid, logs and every temp path
 * inside it), in the foreground, killed when the test ends. Never a fixed
 * port, never the system's own config.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-server.js';

const CANDIDATES = [process.env.NGINX_PATH, '/usr/sbin/nginx', 'nginx'].filter((p): p is string => p !== undefined);

/** The nginx binary that runs here, or undefined. */
function nginxBinary(): string | undefined {
  for (const binary of CANDIDATES) {
    if (binary.includes('/') && !existsSync(binary)) continue;
    const probe = spawnSync(binary, ['-v'], { encoding: 'utf8' });
    if (probe.error === undefined && probe.status === 0) return binary;
  }
  return undefined;
}

/** Undefined when nginx runs; otherwise why the test skips (an Error when CI requires nginx). */
export function nginxMissing(): string | undefined {
  if (nginxBinary() !== undefined) return undefined;
  const why = 'nginx is not installed (Debian: apt-get install -y nginx)';
  if (process.env.BAYEUX_REQUIRE_NGINX === '1') throw new Error(`BAYEUX_REQUIRE_NGINX=1 but ${why}`);
  return why;
}

export interface Nginx {
  /** The port nginx listens on (127.0.0.1). */
  port: number;
  /** What nginx wrote to its error log so far (for a failing test's message). */
  errors(): Promise<string>;
  stop(): Promise<void>;
}

const START_MS = 10_000;

/** Resolves once something accepts on 127.0.0.1:`port`; rejects when `child` exits first or after START_MS. */
async function accepting(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + START_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`nginx exited with ${child.exitCode ?? child.signalCode}`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      const done = (ok: boolean): void => {
        socket.destroy();
        resolve(ok);
      };
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
      socket.setTimeout(500, () => done(false));
    });
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`nginx did not accept on port ${port} within ${START_MS} ms`);
}

/**
 * Starts nginx with `http` as the body of its `http { }` block. `http` names
 * the listening port as `{{port}}`; the helper picks a free one (and picks
 * again should another process take it between the probe and nginx's bind).
 */
export async function startNginx(http: string): Promise<Nginx> {
  const binary = nginxBinary();
  if (binary === undefined) throw new Error('nginx is not installed (Debian: apt-get install -y nginx)');
  const dir = await mkdtemp(join(tmpdir(), 'bayeux-nginx-'));
  const conf = join(dir, 'nginx.conf');
  const errorLog = join(dir, 'error.log');
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    await writeFile(errorLog, '');
    await writeFile(
      conf,
      [
        // Foreground, one process, as whoever runs the test: nothing to switch users for or to leave behind.
        'daemon off;',
        'master_process off;',
        `pid ${join(dir, 'nginx.pid')};`,
        `error_log ${errorLog} warn;`,
        'events { worker_connections 1024; }',
        'http {',
        '  access_log off;',
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${join(dir, kind)};`),
        http.replaceAll('{{port}}', String(port)),
        '}',
        '',
      ].join('\n'),
    );
    // -e: the log nginx opens before it has read the config must not be the system's either.
    const child = spawn(binary, ['-p', dir, '-e', errorLog, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    const stderr: Buffer[] = [];
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    const stop = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }
    };
    try {
      await accepting(port, child);
    } catch (err) {
      await stop();
      const log = await readFile(errorLog, 'utf8').catch(() => '');
      if (attempt < 3 && /Address already in use/.test(log)) continue;
      await rm(dir, { recursive: true, force: true });
      throw new Error(`${(err as Error).message}\n${Buffer.concat(stderr).toString()}${log}`);
    }
    return {
      port,
      errors: () => readFile(errorLog, 'utf8').catch(() => ''),
      async stop() {
        await stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
}
