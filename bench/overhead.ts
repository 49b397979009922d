/**
 * Cost of the operations features on the message path, in-process (no
 * network): CPU per published message through the server core with the
 * memory engine, 10 subscribers per channel. Variants run interleaved and the
 * best round of each counts, so a busy machine skews them alike.
 *   node --import tsx bench/overhead.ts
 *   OVERHEAD_BASE=/path/to/other/checkout/lib  adds that checkout's core as a baseline, in the same process
 */
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import type { Message } from '../lib/protocol/message.js';

const MESSAGES = Number(process.env.OVERHEAD_MESSAGES ?? 20_000);
const ROUNDS = Number(process.env.OVERHEAD_ROUNDS ?? 15);
const BASE = process.env.OVERHEAD_BASE === undefined ? undefined : resolve(process.env.OVERHEAD_BASE);

interface Variant {
  name: string;
  run(): Promise<number>;
  best: number;
}

async function variant(name: string, metrics: boolean, rateLimit: boolean, lib = resolve(import.meta.dirname, '../lib')): Promise<Variant> {
  const { resolveOptions } = (await import(`${lib}/server/options/resolve.ts`)) as typeof import('../lib/server/options/resolve.js');
  const { ServerCore } = (await import(`${lib}/server/core.ts`)) as typeof import('../lib/server/core.js');
  const { RequestState } = (await import(`${lib}/server/request.ts`)) as typeof import('../lib/server/request.js');
  const options =
    lib === BASE ? { logger: false as const } : { logger: false as const, ...(rateLimit ? {} : { rateLimit: false as const }) };
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

const variants = [
  await variant('metrics off, rate limits on (default)', false, true),
  await variant('metrics on, rate limits on', true, true),
  await variant('metrics off, rate limits off', false, false),
];
if (BASE !== undefined) variants.push(await variant(`baseline (${BASE})`, false, false, BASE));
// Each round starts with a different variant, so none always runs first (or last).
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < variants.length; i++) await (variants[(round + i) % variants.length] as Variant).run();
}
for (const v of variants)
  console.log(`${v.name.padEnd(40)} ${v.best.toFixed(0).padStart(6)} ns CPU per publish (best of ${ROUNDS} x ${MESSAGES})`);
