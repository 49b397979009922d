/**
 * Redis servers of a test's own (never the shared one on 6379): started on a
 * free port with no persistence, killed in `after`/`finally`. Used by tests
 * that kill, pause or reconfigure Redis.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Undefined when `binary` runs; otherwise why the test skips (an Error when CI requires Redis). */
export function binaryMissing(...binaries: string[]): string | undefined {
  for (const binary of binaries) {
    const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
    if (probe.error === undefined && probe.status === 0) continue;
    const why = `${binary} is not installed (Debian: apt-get install ${binary === 'redis-cli' ? 'redis-tools' : 'redis-server'})`;
    if (process.env.BAYEUX_REQUIRE_REDIS === '1') throw new Error(`BAYEUX_REQUIRE_REDIS=1 but ${why}`);
    return why;
  }
  return undefined;
}

/** Undefined when redis-server is at least `major`; otherwise why the test skips (an Error when CI requires Redis). */
export function versionMissing(major: number): string | undefined {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  const found = Number(/v=(\d+)\./.exec(probe.stdout ?? '')?.[1] ?? 0);
  if (found >= major) return undefined;
  const why = `redis-server ${found || '?'} is older than ${major} (sharded pub/sub needs Redis ${major})`;
  if (process.env.BAYEUX_REQUIRE_REDIS === '1') throw new Error(`BAYEUX_REQUIRE_REDIS=1 but ${why}`);
  return why;
}

/** A port nobody listens on right now (Redis cannot take port 0). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface OwnRedis {
  port: number;
  url: string;
  /** Kills the process (SIGKILL by default) and waits for its exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port (empty: nothing is saved). */
  restart(): Promise<void>;
}

/** Spawns `binary args` and resolves once it logs `ready` (a line matching it); rejects if it exits first. */
async function spawnReady(binary: string, args: string[], ready: RegExp): Promise<ChildProcess> {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const output: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => {
        output.push(line);
        if (ready.test(line)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`${binary} exited with ${code}: ${output.slice(-5).join('\n')}`)));
      child.once('error', reject);
    });
  } finally {
    lines.removeAllListeners('line');
  }
  // Keep draining its output so a full pipe never blocks it.
  lines.resume();
  child.stderr?.resume();
  return child;
}

async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

/** Arguments of a throwaway redis-server on `port`. */
function redisArgs(port: number, extra: string[] = []): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'notice', ...extra];
}

/**
 * Starts a redis-server of the test's own on a free port (or `port`). It runs
 * in a temporary directory, so a replica's full sync never writes dump.rdb
 * into the working tree.
 */
export async function startRedis(port?: number, extra: string[] = []): Promise<OwnRedis> {
  const p = port ?? (await freePort());
  const args = extra.includes('--dir')
    ? redisArgs(p, extra)
    : redisArgs(p, ['--dir', await mkdtemp(join(tmpdir(), 'bayeux-redis-')), ...extra]);
  let child = await spawnReady('redis-server', args, /Ready to accept connections/);
  return {
    port: p,
    url: `redis://127.0.0.1:${p}`,
    kill: (signal = 'SIGKILL') => stopProcess(child, signal),
    async restart() {
      await stopProcess(child);
      child = await spawnReady('redis-server', args, /Ready to accept connections/);
    },
  };
}

export interface OwnSentinels {
  /** Sentinel addresses, for `redisEngine({ sentinels })`. */
  addresses: { host: string; port: number }[];
  kill(): Promise<void>;
}

/**
 * Starts `count` Sentinels (as `redis-server <conf> --sentinel`, so only
 * redis-server is needed) watching the primary `name` on `primaryPort`, with
 * short failure detection (1 s) so a failover takes seconds, not a minute.
 */
export async function startSentinels(name: string, primaryPort: number, count = 3): Promise<OwnSentinels> {
  const dir = await mkdtemp(join(tmpdir(), 'bayeux-sentinel-'));
  const children: ChildProcess[] = [];
  const addresses: { host: string; port: number }[] = [];
  const kill = async (): Promise<void> => {
    await Promise.all(children.map((c) => stopProcess(c)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${port}.conf`);
      await writeFile(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 2`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 5000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      children.push(await spawnReady('redis-server', [conf, '--sentinel'], /\+monitor master/));
      addresses.push({ host: '127.0.0.1', port });
    }
  } catch (err) {
    await kill();
    throw err;
  }
  return { addresses, kill };
}

export interface OwnCluster {
  /** One node per primary. */
  nodes: OwnRedis[];
  /** Seed addresses, for `redisEngine({ cluster })`. */
  addresses: { host: string; port: number }[];
  /** The same as `host:port,host:port`, for REDIS_CLUSTER (test/helpers/redis.ts, bench/scale-out/node.ts). */
  seeds: string;
  kill(): Promise<void>;
}

/**
 * Starts a Redis Cluster of `primaries` nodes (no replicas) of the test's own
 * and joins them with `redis-cli --cluster create`. Slots of a dead node are
 * not required for the others to serve (`cluster-require-full-coverage no`).
 */
export async function startCluster(primaries = 3): Promise<OwnCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'bayeux-cluster-'));
  const nodes: OwnRedis[] = [];
  const kill = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.kill()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < primaries; i++) {
      const port = await freePort();
      const extra = [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        '2000',
        '--cluster-require-full-coverage',
        'no',
        '--dir',
        dir,
      ];
      nodes.push(await startRedis(port, extra));
    }
    const create = spawn(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    create.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    create.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const [code] = (await once(create, 'exit')) as [number | null];
    if (code !== 0 || !/All 16384 slots covered/.test(output))
      throw new Error(`redis-cli --cluster create failed (${code}): ${output.slice(-500)}`);
    for (const node of nodes) await clusterFormed(node.port);
  } catch (err) {
    await kill();
    throw err;
  }
  const addresses = nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  return { nodes, addresses, seeds: addresses.map((a) => `${a.host}:${a.port}`).join(','), kill };
}

/** Resolves once the node at `port` reports `cluster_state:ok` (every node agreed on the slots); throws after 30 s. */
export async function clusterFormed(port: number): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    const info = spawnSync('redis-cli', ['-p', String(port), 'CLUSTER', 'INFO'], { encoding: 'utf8' });
    if (/cluster_state:ok/.test(info.stdout ?? '')) return;
    if (Date.now() > until) throw new Error(`the cluster did not form: node ${port} says ${info.stdout ?? info.error?.message}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
