/**
 * One server node of the reconnect-storm bench (bench/storm.ts), in its own
 * process: `bayeux()` on the Redis engine (REDIS_URL, NAMESPACE), default
 * options but for `trust proxy` (each simulated client names its own address
 * in X-Forwarded-For, so the per-IP limits stay the defaults). First prints
 * {"port":P} (its endpoint is http://127.0.0.1:P/cometd), then answers each
 * command on stdin (one JSON a line) with one JSON line:
 *   {"op":"owned"}   the sessions this node delivers to now: {"ids":[...]}
 *   {"op":"audit"}   each of them with the channels this node routes to it: {"sessions":[[clientId, [channel...]]]}
 *   {"op":"mark"}    records from now on which sessions moved here and who subscribed
 *   {"op":"report"}  what was recorded: {"claims":[[clientId, ms]], "subscribes":[[clientId, channel, ms]], "handshakes":N}
 *   {"op":"publish","users":U,"tag":T}  publishes {tag} to /user/0 ... /user/U-1 and to /shared
 *   {"op":"close"}   closes the server
 * Times are epoch milliseconds with a fraction (performance.timeOrigin + now()).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Session } from '../../lib/engines/session.js';
import { bayeux, redisEngine } from '../../lib/index.js';
import { answerCommands } from '../child-commands.js';

const now = () => performance.timeOrigin + performance.now();

const server = bayeux({ engine: redisEngine({ url: process.env.REDIS_URL, namespace: process.env.NAMESPACE }) });
await server.ready;
const app = express();
// The clients reach this node through the bench's TCP balancer on 127.0.0.1 and say who they are in X-Forwarded-For.
app.set('trust proxy', 'loopback');
app.use('/cometd', server);
const http = createServer(app);
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
process.stdout.write(`${JSON.stringify({ port: (http.address() as AddressInfo).port })}\n`);

// The sessions this node delivers to (a private field of the Redis engine, behind its guard).
const engine = server.engine as unknown as {
  inner: {
    local: {
      ids(): IterableIterator<string>;
      sessions(): IterableIterator<Session<unknown>>;
      get(id: string): Session<unknown> | undefined;
    };
  };
  claim(session: Session<unknown>): Promise<Session<unknown>>;
};

let marked = false;
const claims: [string, number][] = [];
const subscribes: [string, string, number][] = [];
let handshakes = 0;

// A /meta/connect takes its session over (`claim`): when one that lived elsewhere resolves here, it is re-established here.
const claim = engine.claim.bind(engine);
engine.claim = async (session) => {
  const here = engine.inner.local.get(session.id) !== undefined;
  const local = await claim(session);
  if (marked && !here && local.alive) claims.push([session.id, now()]);
  return local;
};
server.on('connect', () => {
  if (marked) handshakes++;
});
server.on('subscribe', (event) => {
  if (marked) subscribes.push([event.clientId, event.channel, now()]);
});

async function publish(users: number, tag: string): Promise<void> {
  const pending: Promise<void>[] = [server.publish('/shared', { tag })];
  for (let i = 0; i < users; i++) {
    pending.push(server.publish(`/user/${i}`, { tag }));
    if (pending.length >= 100) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
}

await answerCommands<{ op: string; users: number; tag: string }>(
  async (command) => {
    if (command.op === 'owned') return { ids: [...engine.inner.local.ids()] };
    if (command.op === 'mark') marked = true;
    else if (command.op === 'audit') {
      return { sessions: [...engine.inner.local.sessions()].map((session) => [session.id, [...session.channels]]) };
    } else if (command.op === 'report') return { claims, subscribes, handshakes };
    else if (command.op === 'publish') {
      const start = now();
      await publish(command.users, command.tag);
      return { ms: now() - start };
    }
    return undefined;
  },
  async () => {
    await server.close();
    http.close();
  },
);
