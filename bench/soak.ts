/**
 * `npm run soak`: thousands of clients churn against one server for a while
 * (SOAK_SECONDS, default 60; SOAK_CLIENTS, default 2000 alive at once). It
 * prints memory and handles over time; once the churn stops and the vanished
 * sessions expire, heap and handles must be back near where they started, or
 * it exits with 1.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { bayeux } from '../lib/index.js';
import { churn } from './churn.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 2000);
const gc = (globalThis as { gc?: () => void }).gc;

const app = express();
const server = bayeux({
  logger: false,
  maxInterval: 500,
  timeout: 1000,
  clientMaxConnections: 100_000,
  maxSessionsPerIp: 100_000,
  rateLimit: { ip: false },
});
app.use('/cometd', server);
const http = createServer(app);
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/cometd`;

function sample(label: string): { heap: number; handles: number } {
  gc?.();
  const heap = process.memoryUsage().heapUsed;
  const handles = process.getActiveResourcesInfo().length;
  const rss = process.memoryUsage().rss;
  console.log(`${label.padEnd(10)} heap ${(heap / 1048576).toFixed(1)} MB  rss ${(rss / 1048576).toFixed(1)} MB  handles ${handles}`);
  return { heap, handles };
}

const start = sample('start');
const until = Date.now() + SECONDS * 1000;
let total = { sessions: 0, vanished: 0, published: 0 };
let round = 0;
while (Date.now() < until) {
  const r = await churn({ url, clients: CLIENTS, cycles: 2, vanish: 0.5 });
  total = { sessions: total.sessions + r.sessions, vanished: total.vanished + r.vanished, published: total.published + r.published };
  const stats = await server.stats();
  sample(`round ${++round}`);
  console.log(
    `           sessions ${stats.sessions}  held ${stats.held}  (total ${total.sessions} sessions, ${total.vanished} vanished, ${total.published} published)`,
  );
}
// Vanished sessions expire after maxInterval.
while ((await server.stats()).sessions > 0 || (await server.stats()).held > 0) await new Promise((r) => setTimeout(r, 100));
await new Promise((r) => setTimeout(r, 500));
const end = sample('end');
await server.close();
http.close();
const heapOk = end.heap <= start.heap * 1.5 + 8 * 1048576;
const handlesOk = end.handles <= start.handles + 2;
console.log(
  `heap ${heapOk ? 'back' : 'NOT back'} to its start level, handles ${handlesOk ? 'back' : 'NOT back'} (gc ${gc ? 'forced' : 'not exposed: run with --expose-gc'})`,
);
process.exit(heapOk && handlesOk ? 0 : 1);
