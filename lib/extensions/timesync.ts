/**
 * Clock synchronisation, compatible with CometD's TimeSyncExtension: a client
 * sends `ext.timesync = { tc, l, o }` on handshakes and connects; the reply
 * carries `{ tc, ts, p, a }` (its send time, our receive time, our processing
 * time including any hold, and the accuracy of its estimate) from which it
 * works out its offset from the server clock.
 */
import type { Extension } from '../server/options/types.js';

interface Stamp {
  tc: number;
  l: number;
  o: number;
  ts: number;
}

/** Requests waiting for their reply, bounded so unanswered ones cannot pile up. */
const MAX_PENDING = 10_000;

function timed(channel: string): boolean {
  return channel === '/meta/handshake' || channel === '/meta/connect';
}

/** The timesync extension: `bayeux({ extensions: [timesyncExtension()] })`. */
export function timesyncExtension(): Extension {
  // Handshakes are answered in the request that carried them (same context object);
  // connects may be held and answered later, one per client, so they are found by clientId.
  const handshakes = new WeakMap<object, Stamp>();
  const connects = new Map<string, Stamp>();
  return {
    incoming(message, ctx) {
      if (!timed(message.channel)) return;
      const sync = message.ext?.timesync as Partial<Record<'tc' | 'l' | 'o', unknown>> | undefined;
      if (typeof sync !== 'object' || sync === null || typeof sync.tc !== 'number') return;
      const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
      const stamp = { tc: sync.tc, l: num(sync.l), o: num(sync.o), ts: Date.now() };
      if (message.channel === '/meta/handshake') handshakes.set(ctx, stamp);
      else if (typeof message.clientId === 'string') {
        if (connects.size >= MAX_PENDING) connects.delete(connects.keys().next().value as string);
        connects.set(message.clientId, stamp);
      }
    },
    outgoing(message, ctx) {
      if (ctx.kind !== 'reply' || !timed(message.channel)) return;
      let stamp: Stamp | undefined;
      if (message.channel === '/meta/handshake') {
        if (ctx.request !== undefined) stamp = handshakes.get(ctx.request);
      } else if (typeof message.clientId === 'string') {
        stamp = connects.get(message.clientId);
        connects.delete(message.clientId);
      }
      if (stamp === undefined) return;
      const p = Date.now() - stamp.ts;
      message.ext = { ...message.ext, timesync: { tc: stamp.tc, ts: stamp.ts, p, a: stamp.tc + stamp.o + stamp.l - stamp.ts } };
    },
  };
}
