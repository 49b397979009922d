/**
 * Prometheus metrics through `prom-client` (an optional peer dependency,
 * loaded only when `server.metrics()` is called). Counters hang off the
 * server's own events and a few hooks that are a single undefined check
 * while metrics are off; gauges are read when Prometheus scrapes.
 */
import type { Counter, Histogram, Registry } from 'prom-client';
import type { Engine, EngineObserver } from '../engines/engine.js';
import { parseBayeuxError } from '../protocol/errors.js';
import type { Message } from '../protocol/message.js';
import type { ConnectionStats } from './connections.js';
import type { BayeuxEvents } from './events.js';
import type { RateLimitScope } from './rate-limit.js';

type PromClient = typeof import('prom-client');

/** Thrown by `server.metrics()` when `prom-client` is not installed. */
export class MetricsUnavailableError extends Error {
  /** Stable machine-readable code. */
  readonly code = 'BAYEUX_NO_PROM_CLIENT';
}

/** What the server core calls while metrics are on. */
export interface MetricsHooks {
  readonly observer: EngineObserver;
  /** A message was answered: times handshakes and publishes, counts refusals. */
  handled(message: Message, reply: Message | undefined, startedAt: number): void;
  /** Messages left for a client. */
  delivered(transport: string, count: number): void;
  /** Messages refused by a rate limit. */
  rateLimited(scope: RateLimitScope, count: number): void;
}

/** What metrics read from the server: its engine, its connections and its events. */
export interface MetricsSource<User> {
  readonly engine: Engine<User>;
  readonly registry: { stats(): ConnectionStats };
  on<K extends keyof BayeuxEvents<User>>(event: K, listener: (...args: BayeuxEvents<User>[K]) => void): void;
}

/** Latency buckets in seconds: a local handshake takes ~0.1 ms, one through Redis a few ms. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

async function load(): Promise<PromClient> {
  try {
    return (await import('prom-client')) as PromClient;
  } catch (err) {
    throw new MetricsUnavailableError('server.metrics() needs prom-client: npm install prom-client', { cause: err });
  }
}

/** The kind of channel a message is on, as a label: `handshake`, `connect`, ..., `service` or `publish`. */
function kindOf(channel: string): string {
  if (channel.startsWith('/meta/')) return channel.slice(6);
  return channel.startsWith('/service/') ? 'service' : 'publish';
}

/** Registers every metric in `registry` and starts feeding them from `core`. */
export async function registerMetrics<User>(
  core: MetricsSource<User>,
  registry: Registry | undefined,
): Promise<{ registry: Registry; hooks: MetricsHooks }> {
  const prom = await load();
  const registers = [registry ?? new prom.Registry()];
  const reg = registers[0] as Registry;
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> =>
    new prom.Counter({ name, help, labelNames, registers });
  const histogram = (name: string, help: string): Histogram => new prom.Histogram({ name, help, buckets: BUCKETS, registers });
  const gauge = (name: string, help: string, read: () => number | Promise<number>): void => {
    new prom.Gauge({
      name,
      help,
      registers,
      async collect() {
        this.set(await read());
      },
    });
  };

  const counts = () => core.engine.localCounts?.() ?? { sessions: 0, subscriptions: 0, channels: 0 };
  gauge('bayeux_sessions', 'Sessions this node delivers to', () => counts().sessions);
  gauge('bayeux_held_polls', 'Held /meta/connect requests (long-polling and on sockets)', () => core.registry.stats().held);
  gauge('bayeux_sockets', 'WebSocket connections carrying a session', () => core.registry.stats().sockets);
  gauge('bayeux_subscriptions', 'Subscriptions (session, pattern) of the sessions on this node', () => counts().subscriptions);
  gauge('bayeux_channels', 'Distinct channels and patterns subscribed to on this node', () => counts().channels);
  const handshakes = counter('bayeux_handshakes_total', 'Sessions created by a handshake', ['transport']);
  const ended = counter('bayeux_sessions_ended_total', 'Sessions ended, once in the cluster', ['reason']);
  const published = counter('bayeux_messages_published_total', 'Messages accepted for broadcast', ['transport']);
  const delivered = counter('bayeux_messages_delivered_total', 'Messages written to clients', ['transport']);
  const overflows = counter('bayeux_queue_overflows_total', 'Client queues that overflowed', ['policy']);
  const refusals = counter('bayeux_refusals_total', 'Messages answered unsuccessfully', ['channel', 'code']);
  const limited = counter('bayeux_rate_limited_total', 'Messages refused by a rate limit', ['limit']);
  const handshakeTime = histogram('bayeux_handshake_duration_seconds', 'Time to answer a handshake');
  const publishTime = histogram('bayeux_publish_duration_seconds', 'Time to accept and route a publish');
  const lag = new prom.Gauge({
    name: 'bayeux_redis_stream_lag_seconds',
    help: 'Round trip of a marker through Redis pub/sub (to the node itself)',
    registers,
  });
  const handovers = counter('bayeux_redis_handovers_total', 'Sessions that moved to this node, by how the old owner answered', ['outcome']);

  core.on('connect', (e) => handshakes.inc({ transport: e.transport }));
  core.on('disconnect', (e) => {
    ended.inc({ reason: e.reason });
    if (e.reason === 'overflow') overflows.inc({ policy: 'disconnect' });
  });
  core.on('publish', (e) => published.inc({ transport: e.transport }));
  // Once per slow-client episode: `overflow` fires when drop-oldest starts dropping.
  core.on('overflow', () => {
    overflows.inc({ policy: 'drop-oldest' });
  });

  const hooks: MetricsHooks = {
    observer: {
      streamLag: (seconds) => lag.set(seconds),
      handover: (outcome) => handovers.inc({ outcome }),
    },
    handled(message, reply, startedAt) {
      const seconds = (performance.now() - startedAt) / 1000;
      const kind = kindOf(message.channel);
      if (kind === 'handshake') handshakeTime.observe(seconds);
      else if (kind === 'publish') publishTime.observe(seconds);
      if (reply?.successful === false) refusals.inc({ channel: kind, code: String(parseBayeuxError(reply.error ?? '').code) });
    },
    delivered: (transport, count) => delivered.inc({ transport }, count),
    rateLimited: (scope, count) => limited.inc({ limit: scope }, count),
  };
  return { registry: reg, hooks };
}
