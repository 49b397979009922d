/**
 * Cost of the operations features on the message path, in-process (no
 * network): CPU per published message through the server core with the
 * memory engine, 10 subscribers per channel. Variants run interleaved and the
 * best round of each counts, so a busy machine skews them alike.
 *   node --import tsx bench/overhead.ts
 *   OVERHEAD_LIB=/path/to/other/checkout/lib  compares another checkout's core (metrics and rate limits off)
 */
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import type { Message } from '../lib/protocol/message.js';

const MESSAGES = Number(process.env.OVERHEAD_MESSAGES ?? 20_000);
const ROUNDS = Number(process.env.OVERHEAD_ROUNDS ?? 15);
const LIB = resolve(process.env.OVERHEAD_LIB ?? resolve(import.meta.dirname, '../lib'));
const OTHER = process.env.OVERHEAD_LIB !== undefined;

const { resolveOptions } = (await import(`${LIB}/options.ts`)) as typeof import('../lib/options.js');
const { ServerCore } = (await import(`${LIB}/server/core.ts`)) as typeof import('../lib/server/core.js');
const { RequestState } = (await import(`${LIB}/server/request.ts`)) as typeof import('../lib/server/request.js');

interface Variant {
  name: string;
  run(): Promise<number>;
  best: number;
}

async function variant(name: string, metrics: boolean, rateLimit: boolean): Promise<Variant> {
  const options = OTHER ? { logger: false as const } : { logger: false as const, ...(rateLimit ? {} : { rateLimit: false as const }) };
  const core = new ServerCore(resolveOptions(options), new EventEmitter());
  await core.ready;
  if (metrics) {
    const { registerMetrics } = await import('../lib/server/metrics.js');
    const { hooks } = await registerMetrics(core, undefined);
    core.metrics = hooks;
    core.registry.onDelivered = hooks.delivered;
  }
  const ctx = { ip: '127.0.0.1', user: undefined, req: undefined, transport: 'long-polling' as const };
  const handshake = async (): Promise<string> => {
    const request = new RequestState(ctx, undefined);
    await core.process([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }], request);
    return (JSON.parse(request.replies[0] as string) as Message).clientId as string;
  };
  const subscribers: string[] = [];
  for (let i = 0; i < 10; i++) {
    const id = await handshake();
    subscribers.push(id);
    await core.process([{ channel: '/meta/subscribe', clientId: id, subscription: '/bench/a' }], new RequestState(ctx, undefined));
  }
  const publisher = await handshake();
  const v: Variant = {
    name,
    best: Number.POSITIVE_INFINITY,
    async run() {
      const start = process.cpuUsage();
      for (let i = 0; i < MESSAGES; i++) {
        await core.process([{ channel: '/bench/a', clientId: publisher, data: { i }, id: String(i) }], new RequestState(ctx, undefined));
        // Drain as a poll would, so queues stay within maxQueue.
        if (i % 500 === 499) for (const id of subscribers) (await core.engine.session(id))?.take();
      }
      const used = process.cpuUsage(start);
      const ns = ((used.user + used.system) * 1000) / MESSAGES;
      v.best = Math.min(v.best, ns);
      return ns;
    },
  };
  return v;
}

const variants = OTHER
  ? [await variant(`other checkout (${LIB})`, false, false)]
  : [
      await variant('metrics off, rate limits on (default)', false, true),
      await variant('metrics on, rate limits on', true, true),
      await variant('metrics off, rate limits off', false, false),
    ];
for (let round = 0; round < ROUNDS; round++) for (const v of variants) await v.run();
for (const v of variants)
  console.log(`${v.name.padEnd(40)} ${v.best.toFixed(0).padStart(6)} ns CPU per publish (best of ${ROUNDS} x ${MESSAGES})`);
