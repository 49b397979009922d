/**
 * `npm run chaos`: the chaos scenarios of test/redis/chaos.test.ts, long.
 * Redis killed for CHAOS_OUTAGE ms (default 60 s) and restarted empty, Redis
 * frozen by CLIENT PAUSE for CHAOS_PAUSE ms (default 10 s), a node killed;
 * CHAOS_SUBSCRIBERS long-polling subscribers (default 100) and CHAOS_RATE
 * publishes/s (default 20). CHAOS_ONLY=restart|pause|kill runs one;
 * CHAOS_TOPOLOGY=cluster runs them on a Redis Cluster of three primaries. Prints
 * one JSON line per scenario: delivered share, lost, recovery, heap, sockets.
 */
import { type ChaosResult, type ChaosTopology, nodeKill, redisPause, redisRestart } from '../test/helpers/chaos.js';

const subscribers = Number(process.env.CHAOS_SUBSCRIBERS ?? 100);
const rate = Number(process.env.CHAOS_RATE ?? 20);
const only = process.env.CHAOS_ONLY;
const topology: ChaosTopology = process.env.CHAOS_TOPOLOGY === 'cluster' ? 'cluster' : 'redis';
const scenarios: [string, () => Promise<ChaosResult>][] = [
  ['restart', () => redisRestart({ subscribers, rate, faultMs: Number(process.env.CHAOS_OUTAGE ?? 60_000) }, topology)],
  ['pause', () => redisPause({ subscribers, rate, faultMs: Number(process.env.CHAOS_PAUSE ?? 10_000) }, topology)],
  ['kill', () => nodeKill({ subscribers, rate, faultMs: 0 }, topology)],
];
for (const [name, scenario] of scenarios) {
  if (only !== undefined && only !== name) continue;
  console.log(JSON.stringify(await scenario()));
}
process.exit(0);
