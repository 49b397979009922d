/**
 * A share of the reconnect-storm bench's clients (bench/storm.ts), in their
 * own process: clients FROM ... FROM+COUNT-1, each a `BayeuxClient` on
 * long-polling through the balancer (BALANCER_URL) with the client's own
 * backoff (BACKOFF_INITIAL overrides its `initial`), subscribed to
 * /user/<i> and /shared. Each client names itself in an `x-storm-client`
 * header and its own address in X-Forwarded-For; a wrapper around fetch
 * attributes every request, status and network failure to its client.
 * First prints {"ready":true}, then answers each command on stdin with one JSON line:
 *   {"op":"connect"}  connects and subscribes every client (at most CONCURRENCY at once)
 *   {"op":"arm"}      the storm starts: from now on, per client, what it sends and hears
 *   {"op":"window"}   the storm is over: event-loop delay and CPU since `arm` are kept as they are now
 *   {"op":"report"}   per client and in total what was recorded since `arm`
 *   {"op":"count","tag":T}  how many clients got T on their /user channel and on /shared
 *   {"op":"close"}    disconnects every client
 * Times are epoch milliseconds with a fraction (performance.timeOrigin + now()).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { BayeuxClient, type ClientExtension, type Message } from '../../lib/client/index.js';
import { answerCommands } from '../child-commands.js';
import { emptyTotals } from './totals.js';

const URL = process.env.BALANCER_URL as string;
const FROM = Number(process.env.FROM ?? 0);
const COUNT = Number(process.env.COUNT ?? 0);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 25);
const INITIAL = process.env.BACKOFF_INITIAL === undefined ? undefined : Number(process.env.BACKOFF_INITIAL);
/** The connect phase ends with an error past this. */
const CONNECT_TIMEOUT = Number(process.env.CONNECT_TIMEOUT ?? 180_000);

const now = () => performance.timeOrigin + performance.now();

/** What one client did after `arm`. */
interface Trace {
  clientId: string | undefined;
  /** A held /meta/connect failed on the network (its node died). */
  failedAt?: number;
  /** The first request sent after that failure. */
  firstRetryAt?: number;
  /** The first request sent at all. */
  firstRequestAt?: number;
  /** The backoff's draws (Math.random, observed). */
  draws: number[];
  handshakes: number;
  /** Subscriptions confirmed after the last successful handshake. */
  resubscribed: number;
  resubscribedAt?: number;
  connectedAt?: number;
  gaveUp: boolean;
  userTag?: string;
  sharedTag?: string;
}

// Totals of a phase: before `arm` (setup) and after (storm).
const setup = emptyTotals();
const storm = emptyTotals();
let armed = false;
let closing = false;
const phase = () => (armed ? storm : setup);
const bump = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

const traces: Trace[] = Array.from({ length: COUNT }, () => ({
  clientId: undefined,
  draws: [],
  handshakes: 0,
  resubscribed: 0,
  gaveUp: false,
}));
const clients: BayeuxClient[] = [];

// Every request of every client, on the wire.
const wire = globalThis.fetch;
globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
  const headers = (init?.headers ?? {}) as Record<string, string>;
  const trace = traces[Number(headers['x-storm-client']) - FROM];
  const sent = now();
  if (armed && trace !== undefined) {
    trace.firstRequestAt ??= sent;
    if (trace.failedAt !== undefined) trace.firstRetryAt ??= sent;
  }
  try {
    const res = await wire(input, init);
    bump(phase().statuses, String(res.status));
    return res;
  } catch (err) {
    if (!closing) {
      phase().networkErrors++;
      const connect = typeof init?.body === 'string' && init.body.includes('"/meta/connect"');
      if (armed && trace !== undefined && connect) trace.failedAt ??= now();
    }
    throw err;
  }
}) as typeof fetch;

function extension(trace: Trace): ClientExtension {
  return {
    incoming(message: Message) {
      if (message.successful === false) {
        const totals = phase();
        if (message.advice?.reconnect === 'none') totals.refusedForGood++;
        else if (message.advice !== undefined) totals.refusedWithAdvice++;
        bump(totals.refusals, `${message.channel} ${message.error ?? '?'} ${message.advice?.reconnect ?? 'no advice'}`);
      }
      if (!armed || message.successful !== true) return message;
      if (message.channel === '/meta/handshake') {
        trace.handshakes++;
        trace.resubscribed = 0;
      } else if (message.channel === '/meta/subscribe' && trace.handshakes > 0 && ++trace.resubscribed === 2) {
        trace.resubscribedAt = now();
      } else if (message.channel === '/meta/connect') {
        trace.connectedAt ??= now();
      }
      return message;
    },
  };
}

function client(i: number): BayeuxClient {
  const trace = traces[i - FROM] as Trace;
  const random = () => {
    const r = Math.random();
    if (armed) trace.draws.push(r);
    return r;
  };
  const bayeux = new BayeuxClient(URL, {
    transports: ['long-polling'],
    headers: { 'x-storm-client': String(i), 'x-forwarded-for': `10.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}` },
    extensions: [extension(trace)],
    backoff: INITIAL === undefined ? { random } : { random, initial: INITIAL },
  });
  bayeux.on('error', (error) => {
    if (!closing) bump(phase().errors, `${error.reason} ${error.code} ${error.channel ?? ''}`);
  });
  bayeux.on('state', (state) => {
    if (state === 'disconnected' && armed && !closing) trace.gaveUp = true;
  });
  clients[i - FROM] = bayeux;
  return bayeux;
}

async function connectAll(): Promise<{ ms: number }> {
  const start = now();
  let next = FROM;
  const worker = async () => {
    while (next < FROM + COUNT) {
      const i = next++;
      const bayeux = client(i);
      await bayeux.connect();
      const trace = traces[i - FROM] as Trace;
      const on = (key: 'userTag' | 'sharedTag') => (message: Message) => {
        const tag = (message.data as { tag?: unknown } | undefined)?.tag;
        if (typeof tag === 'string') trace[key] = tag;
      };
      await Promise.all([bayeux.subscribe(`/user/${i}`, on('userTag')), bayeux.subscribe('/shared', on('sharedTag'))]);
      trace.clientId = bayeux.clientId;
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`clients ${FROM}+: not all connected within ${CONNECT_TIMEOUT} ms`)), CONNECT_TIMEOUT);
  });
  try {
    await Promise.race([Promise.all(Array.from({ length: CONCURRENCY }, worker)), deadline]);
  } finally {
    clearTimeout(timer);
  }
  return { ms: now() - start };
}

const loop = monitorEventLoopDelay({ resolution: 5 });
let cpu = process.cpuUsage();

/** Event-loop delay and CPU since `arm`, frozen by `window` (the storm itself, without the reports that follow). */
let window: { loop: { p50: number; p99: number; max: number }; cpuMs: number } | undefined;

function measured(): NonNullable<typeof window> {
  if (window !== undefined) return window;
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  const used = process.cpuUsage(cpu);
  return {
    loop: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) },
    cpuMs: (used.user + used.system) / 1000,
  };
}

function report(): unknown {
  return { storm, setup, ...measured(), traces: traces.map((t, k) => ({ ...t, i: FROM + k, clientIdNow: clients[k]?.clientId })) };
}

process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
await answerCommands<{ op: string; tag: string }>(
  async (command) => {
    try {
      if (command.op === 'connect') return await connectAll();
      if (command.op === 'arm') {
        armed = true;
        cpu = process.cpuUsage();
        loop.enable();
      } else if (command.op === 'window') {
        window = measured();
        loop.disable();
      } else if (command.op === 'report') return report();
      else if (command.op === 'count') {
        return {
          user: traces.filter((t) => t.userTag === command.tag).length,
          shared: traces.filter((t) => t.sharedTag === command.tag).length,
          missing: traces.flatMap((t, k) => (t.userTag === command.tag && t.sharedTag === command.tag ? [] : [FROM + k])),
        };
      }
      return undefined;
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err) };
    }
  },
  async () => {
    closing = true;
    await Promise.race([Promise.allSettled(clients.map((c) => c.disconnect())), new Promise((r) => setTimeout(r, 10_000))]);
  },
);
