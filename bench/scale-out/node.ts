/**
 * One node of the scale-out bench, in its own process. LIB: the express-bayeux
 * source to load (this tree's, or the baseline's extracted by the driver).
 * Reads commands on stdin, one JSON per line, and answers each with one JSON line:
 * First prints {"port":P} (its Bayeux endpoint is http://127.0.0.1:P/cometd).
 *   {"op":"load","node":K,"sessions":S}  S sessions subscribed to /user/K-<i>, one more to /shared
 *   {"op":"publish","count":C,"users":U,"nodes":N,"seed":X}  publishes C messages spread over all users
 *   {"op":"mark"} / {"op":"read"}  CPU time and counts since the mark
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Engine } from '../../lib/engines/engine.js';
import type { Session } from '../../lib/engines/session.js';
import type * as Library from '../../lib/index.js';
import { answerCommands } from '../child-commands.js';

const lib = (await import(process.env.LIB ?? '../../lib/index.ts')) as typeof Library;
const server = lib.bayeux({
  logger: false,
  // The bench's sessions never poll: no expiry during a run, queues long enough for every message.
  maxInterval: 600_000,
  maxQueue: 1_000_000,
  maxSessions: 1_000_000,
  maxSessionsPerIp: 1_000_000,
  // REDIS_CLUSTER (host:port,...): the cluster's seeds; else REDIS_URL.
  engine: lib.redisEngine({
    ...(process.env.REDIS_CLUSTER
      ? { cluster: process.env.REDIS_CLUSTER.split(',').map((a) => ({ host: a.split(':')[0] as string, port: Number(a.split(':')[1]) })) }
      : { url: process.env.REDIS_URL }),
    namespace: process.env.NAMESPACE,
  }),
});
await server.ready;
const app = express();
app.use('/cometd', server);
const http = createServer(app);
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
process.stdout.write(`${JSON.stringify({ port: (http.address() as AddressInfo).port })}\n`);
const engine = server.engine as Engine<unknown>;

// Every pub/sub message Redis sends this node, whichever design routes them (a private field of both versions),
// but the echoes of the bench's own sync() (wire tag `x` in both): one per pattern on a cluster, one in all else.
let received = 0;
const count = (_channel: string, message: string) => {
  if (!message.startsWith('x')) received++;
};
const inner = (engine as unknown as { inner: { node: { sub: NodeJS.EventEmitter } } }).inner;
inner.node.sub.on('message', count);
inner.node.sub.on('smessage', count);

const sessions: Session<unknown>[] = [];
let mark = { cpu: process.cpuUsage(), received: 0, queued: 0 };
const queued = () => sessions.reduce((sum, s) => sum + s.queue.length, 0);

async function load(node: number, count: number): Promise<void> {
  for (let i = 0; i <= count; i++) {
    const session = await engine.createSession({
      id: `n${node}-${i}-${process.pid}`,
      user: undefined,
      userKey: undefined,
      ip: `10.${node}.${i >> 8}.${i & 255}`,
      transport: 'websocket',
      data: {},
    });
    await engine.subscribe(session, [i === count ? '/shared' : `/user/${node}-${i}`]);
    sessions.push(session);
  }
}

/** Publishes `count` messages, one in a hundred on /shared, the rest to users of every node (a fixed pseudo-random spread). */
async function publish(count: number, users: number, nodes: number, seed: number): Promise<void> {
  const payload = 'x'.repeat(200);
  const pending: Promise<void>[] = [];
  for (let n = 0; n < count; n++) {
    const x = Math.imul(n + seed, 2654435761) >>> 0;
    const channel = n % 100 === 99 ? '/shared' : `/user/${x % nodes}-${(x >>> 8) % users}`;
    pending.push(server.publish(channel, { n, payload }));
    if (pending.length >= 50) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
}

await answerCommands<{ op: string; node: number; sessions: number; count: number; users: number; nodes: number; seed: number }>(
  async (command) => {
    if (command.op === 'load') await load(command.node, command.sessions);
    else if (command.op === 'publish') await publish(command.count, command.users, command.nodes, command.seed);
    else if (command.op === 'mark') mark = { cpu: process.cpuUsage(), received, queued: queued() };
    else if (command.op === 'read') {
      await (engine as unknown as { sync(timeout?: number): Promise<void> }).sync(10_000);
      const cpu = process.cpuUsage(mark.cpu);
      return { cpuUs: cpu.user + cpu.system, received: received - mark.received, delivered: queued() - mark.queued };
    }
    return undefined;
  },
  async () => {
    await server.close();
    http.close();
  },
);
