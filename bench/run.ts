/**
 * `npm run bench`: express-bayeux, Faye and CometD's Node server side by side,
 * each in its own child process, driven by the same load generator
 * (bench/clients.ts) in this process.
 *
 *   BENCH_QUICK=1   small numbers, one run (a smoke test: about a minute)
 *   BENCH_RUNS=N    measured runs per cell (default 3; the median is reported)
 *   BENCH_RATE=N    messages per second in fan-out scenarios (default 20)
 *   BENCH_SECONDS=N publishing time per fan-out run (default 4)
 *   BENCH_WARMUP=N  seconds of the same load each fresh server process takes, unmeasured, before its
 *                   measured window (default 5; JIT compilation is a one-off per process, not per delivery)
 *   BENCH_ONLY=a,b  only these scenarios (fan-out, history, many, idle, handshakes, app-stack);
 *                   results are then printed, not written
 *   BENCH_SERVERS=a,b / BENCH_TRANSPORTS=a,b / BENCH_SCALE=n,m  narrow the cells the same way
 *   BENCH_NODE_ARGS  extra node flags for the server processes (e.g. --cpu-prof)
 *   BENCH_PROFILE=dir  profile the servers' CPU over each measured window only (bench/servers/profile.ts)
 *   BENCH_APPEND=1   add the cells measured to bench/results/results.json (finishing a run cut short)
 *
 * Writes bench/results/results.json, results.md and latency.svg.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type BenchClient, closeAgents, failures, LongPollClient, type Msg, openClients, WebSocketClient } from './clients.js';
import { cpuSeconds } from './cpu.js';
import { type Cell, renderMarkdown, renderSvg } from './report.js';

const QUICK = process.env.BENCH_QUICK === '1';
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 1 : 3));
const RATE = Number(process.env.BENCH_RATE ?? 20);
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 2 : 4));
const WARMUP = Number(process.env.BENCH_WARMUP ?? (QUICK ? 1 : 5));
const SCALE = process.env.BENCH_SCALE?.split(',').map(Number) ?? (QUICK ? [100, 500] : [100, 1000, 5000]);
const IDLE = QUICK ? { websocket: 1000, 'long-polling': 500 } : { websocket: 10_000, 'long-polling': 2000 };
const MANY = QUICK ? 200 : 1000;
/** The realistic cell: the example app's stack, logged-in long-polling subscribers. */
const APP_STACK = QUICK ? 200 : 1000;
const ONLY = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
// 'many channels' is the scenario's name in the results; 'many' is accepted too.
const runs = (scenario: string): boolean =>
  ONLY === undefined || ONLY.includes(scenario) || (scenario === 'many' && ONLY.includes('many channels'));
/** Subscribers in the history cell (express-bayeux with and without `history` on the channel). */
const HISTORY_SUBSCRIBERS = QUICK ? 500 : 1000;

type Transport = 'long-polling' | 'websocket';
interface ServerInfo {
  port: number;
  path: string;
  websocket: boolean;
  /** The host app's login route: long-polling clients log in there before they handshake. */
  login?: string;
}
interface Running extends ServerInfo {
  child: ChildProcess;
  pid: number;
  /** Between the two signals of BENCH_PROFILE. */
  profiling?: boolean;
}

const OURS = 'express-bayeux';
const SERVERS: { name: string; script: string; fanoutOnly?: boolean }[] = [
  { name: OURS, script: 'ours.ts' },
  { name: 'faye', script: 'faye.ts' },
  { name: 'cometd-nodejs-server', script: 'cometd.ts' },
  // Not a Bayeux server: what node:http and ws cost by themselves (bench/servers/floor.ts), in the fan-out cells only.
  { name: 'node:http floor', script: 'floor.ts', fanoutOnly: true },
].filter((s) => process.env.BENCH_SERVERS === undefined || process.env.BENCH_SERVERS.split(',').includes(s.name));
const TRANSPORTS = (['websocket', 'long-polling'] as const).filter(
  (t) => process.env.BENCH_TRANSPORTS === undefined || process.env.BENCH_TRANSPORTS.split(',').includes(t),
);
const NODE_ARGS = process.env.BENCH_NODE_ARGS?.split(' ').filter((a) => a !== '') ?? [];

async function startServer(script: string, env: Record<string, string> = {}): Promise<Running> {
  const child = spawn(process.execPath, [...NODE_ARGS, '--import', 'tsx', join(import.meta.dirname, 'servers', script)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const [line] = (await once(createInterface({ input: child.stdout as NodeJS.ReadableStream }), 'line')) as [string];
  return { ...(JSON.parse(line) as ServerInfo), child, pid: child.pid as number };
}

async function stopServer(server: Running): Promise<void> {
  const exited = once(server.child, 'exit');
  // SIGTERM lets a profiled server write its profile (the scripts exit on it); SIGKILL otherwise.
  server.child.kill(NODE_ARGS.length > 0 ? 'SIGTERM' : 'SIGKILL');
  await exited;
}

/** Starts or stops the server's profile of the measured window (BENCH_PROFILE); a stop waits for the file. */
async function toggleProfile(server: Running): Promise<void> {
  const dir = process.env.BENCH_PROFILE;
  if (!dir) return;
  const written = () => readdirSync(dir).filter((f) => f.includes(`-${server.pid}-`)).length;
  const before = written();
  process.kill(server.pid, 'SIGUSR2');
  server.profiling = !server.profiling;
  if (!server.profiling) await waitFor(() => written() > before, 10_000);
}

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

function client(server: Running, transport: Transport): Promise<BenchClient> {
  if (transport === 'websocket') return WebSocketClient.open(`ws://127.0.0.1:${server.port}${server.path}`);
  const c = new LongPollClient('127.0.0.1', server.port, server.path);
  const login = server.login;
  if (login === undefined) return c.handshake().then(() => c);
  return c
    .login(login, 'alice', 'alice')
    .then(() => c.handshake())
    .then(() => c);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function waitFor(check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

interface Measure {
  delivered: number;
  expected: number;
  seconds: number;
  latencies: number[];
  cpu: number;
  /** CPU seconds the load generator (this process) used in the same window. */
  generatorCpu: number;
  rss: number;
}

/** Publishes at RATE to `channels` (round robin) for SECONDS and collects deliveries. */
async function fanout(
  server: Running,
  transport: Transport,
  subscribers: number,
  channelOf: (i: number) => string,
  wildcard?: string,
): Promise<Measure> {
  const clients = await openClients(subscribers, () => client(server, transport));
  await Promise.all(clients.map((c, i) => c.subscribe(channelOf(i))));
  let listener: BenchClient | undefined;
  if (wildcard !== undefined) {
    listener = await client(server, transport);
    await listener.subscribe(wildcard);
  }
  const latencies: number[] = [];
  let delivered = 0;
  /** The first message of the measured window: a warm-up message arriving late is not counted in it. */
  let measuredFrom = 0;
  const onDelivery = (m: Msg) => {
    const data = m.data as { t?: number; seq?: number };
    if ((data?.seq ?? 0) < measuredFrom) return;
    delivered++;
    if (typeof data?.t === 'number') latencies.push(performance.now() - data.t);
  };
  for (const c of clients) c.listen(onDelivery);
  listener?.listen(onDelivery);
  const publisher = await client(server, transport);
  const channels = [...new Set(clients.map((_, i) => channelOf(i)))];
  const perChannel = new Map<string, number>();
  for (let i = 0; i < subscribers; i++) perChannel.set(channelOf(i), (perChannel.get(channelOf(i)) ?? 0) + 1);
  let seq = 0;
  /** Publishes at RATE for `seconds`, round robin over the channels; resolves with the deliveries that makes. */
  const publishFor = async (seconds: number): Promise<number> => {
    const from = performance.now();
    let expected = 0;
    const total = Math.round(RATE * seconds);
    for (let n = 0; n < total; n++) {
      const due = from + (n * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const channel = channels[n % channels.length] as string;
      void publisher.publish(channel, { t: performance.now(), seq: seq++ });
      expected += (perChannel.get(channel) ?? 0) + (listener ? 1 : 0);
    }
    return expected;
  };
  // Let every connect reach the server, then warm it up with the same load: what it compiles once is not per delivery.
  await new Promise((r) => setTimeout(r, 300));
  const warm = await publishFor(WARMUP);
  await waitFor(() => delivered >= warm, 10_000);
  measuredFrom = seq;
  delivered = 0;
  latencies.length = 0;
  await toggleProfile(server);
  const cpu0 = cpuSeconds(server.pid);
  const own0 = process.cpuUsage();
  const start = performance.now();
  const expected = await publishFor(SECONDS);
  await waitFor(() => delivered >= expected, 10_000);
  if (process.env.BENCH_DEBUG === '1') console.log(`  ${failures.polls} polls for ${delivered} deliveries`);
  failures.polls = 0;
  if (failures.connects + failures.requests > 0) {
    console.log(`  (load generator saw ${failures.connects} failed connects, ${failures.requests} failed requests)`);
    failures.connects = 0;
    failures.requests = 0;
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = cpuSeconds(server.pid) - cpu0;
  const own = process.cpuUsage(own0);
  await toggleProfile(server);
  const rss = rssBytes(server.pid);
  for (const c of [...clients, publisher, ...(listener ? [listener] : [])]) c.close();
  return {
    delivered,
    expected,
    seconds,
    latencies: latencies.sort((a, b) => a - b),
    cpu,
    generatorCpu: (own.user + own.system) / 1e6,
    rss,
  };
}

async function idle(server: Running, transport: Transport, count: number): Promise<{ perSession: number; rss: number }> {
  const before = rssBytes(server.pid);
  const clients = await openClients(count, () => client(server, transport), 200);
  for (const c of clients) c.listen(() => {});
  await new Promise((r) => setTimeout(r, 1000));
  const after = rssBytes(server.pid);
  for (const c of clients) c.close();
  return { perSession: (after - before) / count, rss: after };
}

/**
 * Handshakes (each with its first connect) from 20 concurrent clients, after
 * WARMUP seconds of the same, unmeasured (the sessions they open stay). Besides
 * the rate, the server's CPU per handshake, and the load generator's own CPU
 * share: near 100 % (one core), the generator sets the rate, not the server.
 */
async function handshakes(server: Running): Promise<Record<string, number>> {
  let done = 0;
  /** 20 concurrent clients handshaking (each with its first connect) for `seconds`. */
  const handshakeFor = (seconds: number): Promise<unknown> => {
    const end = performance.now() + seconds * 1000;
    const worker = async () => {
      while (performance.now() < end) {
        const c = new LongPollClient('127.0.0.1', server.port, server.path);
        await c.handshake();
        c.close();
        done++;
      }
    };
    return Promise.all(Array.from({ length: 20 }, worker));
  };
  // The same warm-up as the fan-out cells: what the fresh process compiles once is not per handshake.
  await handshakeFor(WARMUP);
  done = 0;
  await toggleProfile(server);
  const cpu0 = cpuSeconds(server.pid);
  const own0 = process.cpuUsage();
  const start = performance.now();
  await handshakeFor(SECONDS);
  const seconds = (performance.now() - start) / 1000;
  const own = process.cpuUsage(own0);
  const cpu = cpuSeconds(server.pid) - cpu0;
  await toggleProfile(server);
  return {
    handshakesPerSecond: done / seconds,
    cpuUsPerHandshake: (cpu / done) * 1e6,
    serverCpuShare: cpu / seconds,
    generatorCpuShare: (own.user + own.system) / 1e6 / seconds,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function measureCell(
  script: string,
  run: (s: Running) => Promise<Record<string, number>>,
  env: Record<string, string> = {},
): Promise<Record<string, number>> {
  const runs: Record<string, number>[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const server = await startServer(script, env);
    try {
      const result = await run(server);
      if (i > 0) runs.push(result); // the first run warms up and is discarded
    } catch (err) {
      // A server that fails the load (e.g. its sessions expire while 5,000 clients subscribe) fails its cell, not the run.
      console.log(`  run failed: ${(err as Error).message.slice(0, 200)}`);
      if (i > 0) runs.push({ failed: 1 });
    } finally {
      await stopServer(server);
    }
  }
  const ok = runs.filter((r) => r.failed === undefined);
  if (ok.length === 0) return { failed: 1, share: 0 };
  const keys = Object.keys(ok[0] ?? {});
  return Object.fromEntries(keys.map((k) => [k, median(ok.map((r) => r[k] as number))]));
}

function summarize(m: Measure): Record<string, number> {
  return {
    deliveredPerSecond: m.delivered / m.seconds,
    share: m.expected === 0 ? 1 : m.delivered / m.expected,
    p50: percentile(m.latencies, 50),
    p99: percentile(m.latencies, 99),
    max: m.latencies.at(-1) ?? Number.NaN,
    cpuMicrosPerDelivery: m.delivered === 0 ? Number.NaN : (m.cpu * 1e6) / m.delivered,
    rssMB: m.rss / 1024 / 1024,
    // Shares of one core over the window: a generator near 100 % sets the pace of the cell, not the server.
    serverCpuShare: m.cpu / m.seconds,
    generatorCpuShare: m.generatorCpu / m.seconds,
  };
}

/** BENCH_APPEND=1: add to the cells of the last run (bench/results/results.json) instead of starting over. */
const cells: Cell[] =
  process.env.BENCH_APPEND === '1'
    ? (JSON.parse(readFileSync(join(import.meta.dirname, 'results', 'results.json'), 'utf8')) as { cells: Cell[] }).cells
    : [];

function record(cell: Cell): void {
  cells.push(cell);
  save(false);
}

/** Writes the results so far: a run cut short still leaves what it measured. */
function save(final: boolean): void {
  const meta = {
    cores: availableParallelism(),
    node: process.version,
    runs: RUNS,
    rate: RATE,
    seconds: SECONDS,
    warmup: WARMUP,
    quick: QUICK,
    date: new Date().toISOString(),
    complete: final,
  };
  if (ONLY !== undefined && process.env.BENCH_APPEND !== '1') {
    if (final) console.log(renderMarkdown(meta, cells));
    return;
  }
  const dir = join(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.json'), `${JSON.stringify({ meta, cells }, null, 2)}\n`);
  writeFileSync(join(dir, 'results.md'), renderMarkdown(meta, cells));
  writeFileSync(join(dir, 'latency.svg'), renderSvg(cells));
  if (final) console.log(renderMarkdown(meta, cells));
}

async function main(): Promise<void> {
  console.log(
    `express-bayeux benchmark: ${availableParallelism()} cores, Node ${process.version}, ${RUNS} run(s) per cell after a warm-up, ${RATE} msg/s for ${SECONDS} s`,
  );
  // The short cells first: a run cut short by the machine still has them.
  for (const lane of runs('app-stack') ? (['on', 'off'] as const) : []) {
    const name = `express-bayeux, app stack, lane ${lane}`;
    const values = await measureCell(
      'example-stack.ts',
      async (server) => summarize(await fanout(server, 'long-polling', APP_STACK, () => '/bench/fanout')),
      { LANE: lane === 'on' ? '1' : '0' },
    );
    record({ scenario: 'app stack', transport: 'long-polling', size: APP_STACK, server: name, values });
    console.log(`app stack long-polling ${APP_STACK} ${name}: ${JSON.stringify(values)}`);
  }
  // Handshakes on a bare bayeux() (an Express app holding only it), and behind the example's stack
  // (express-session and passport.session() run on each handshake): what the host's stack costs.
  const handshakeServers = runs('handshakes') ? SERVERS.filter((s) => !s.fanoutOnly) : [];
  if (handshakeServers.some((s) => s.name === OURS))
    handshakeServers.splice(1, 0, { name: `${OURS}, app stack`, script: 'example-stack.ts' });
  for (const s of handshakeServers) {
    const values = await measureCell(s.script, handshakes);
    record({ scenario: 'handshakes', transport: 'long-polling', size: 20, server: s.name, values });
    console.log(`handshakes ${s.name}: ${JSON.stringify(values)}`);
  }
  for (const transport of TRANSPORTS) {
    for (const subscribers of runs('fan-out') ? SCALE : []) {
      for (const s of SERVERS) {
        if (transport === 'websocket' && s.name === 'cometd-nodejs-server') continue;
        const values = await measureCell(s.script, async (server) =>
          summarize(await fanout(server, transport, subscribers, () => '/bench/fanout')),
        );
        record({ scenario: 'fan-out', transport, size: subscribers, server: s.name, values });
        console.log(`fan-out ${transport} ${subscribers} ${s.name}: ${JSON.stringify(values)}`);
      }
    }
    // The cost of history: the same fan-out with the channel's messages kept (memory engine).
    for (const [name, env] of runs('history')
      ? ([
          ['express-bayeux', {}],
          ['express-bayeux + history', { HISTORY: '/bench/**' }],
        ] as const)
      : []) {
      const values = await measureCell(
        'ours.ts',
        async (server) => summarize(await fanout(server, transport, HISTORY_SUBSCRIBERS, () => '/bench/fanout')),
        env,
      );
      record({ scenario: 'history', transport, size: HISTORY_SUBSCRIBERS, server: name, values });
      console.log(`history ${transport} ${HISTORY_SUBSCRIBERS} ${name}: ${JSON.stringify(values)}`);
    }
    for (const s of SERVERS) {
      if ((transport === 'websocket' && s.name === 'cometd-nodejs-server') || s.fanoutOnly) continue;
      if (runs('many')) {
        const values = await measureCell(s.script, async (server) =>
          summarize(await fanout(server, transport, MANY, (i) => `/bench/many/${i}`, '/bench/many/*')),
        );
        record({ scenario: 'many channels', transport, size: MANY, server: s.name, values });
        console.log(`many channels ${transport} ${MANY} ${s.name}: ${JSON.stringify(values)}`);
      }
      if (!runs('idle')) continue;
      const idleValues = await measureCell(s.script, async (server) => {
        const r = await idle(server, transport, IDLE[transport]);
        return { kbPerSession: r.perSession / 1024, rssMB: r.rss / 1024 / 1024 };
      });
      record({ scenario: 'idle', transport, size: IDLE[transport], server: s.name, values: idleValues });
      console.log(`idle ${transport} ${IDLE[transport]} ${s.name}: ${JSON.stringify(idleValues)}`);
    }
  }
  save(true);
  finished = true;
  await closeAgents();
  process.exit(0);
}

let finished = false;
process.on('exit', (code) => {
  if (!finished) console.error(`bench: exited (code ${code}) before every cell ran; results hold the cells measured so far`);
});

// A connection reset while clients are torn down is part of the load, not a failure of the run
// (undici's codes: a socket closed by its server, a connection closed or destroyed under a request).
const TEARDOWN = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);
process.on('uncaughtException', (err: NodeJS.ErrnoException) => {
  if (err.code !== undefined && TEARDOWN.has(err.code)) return;
  throw err;
});
await main();
