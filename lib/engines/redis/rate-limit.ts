/**
 * Cluster-wide token buckets: every node takes from the same bucket in one
 * script call (one round trip per request that carries countable messages),
 * the same arithmetic as `token-bucket.ts`. A bucket's key expires once it
 * would be full again, so idle IPs and ended sessions leave nothing behind.
 */

import type { RateBucket, RateTake } from '../token-bucket.js';
import type { RedisClient } from './connection.js';
import type { KeyOf } from './user-index.js';

/**
 * KEYS: bucket hashes. ARGV: cost, now (ms), then rate and burst per key.
 * Returns { granted, index of the limiting key (1-based) or 0 }.
 */
const TAKE = `
local cost = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local granted = cost
local limiting = 0
local levels = {}
for i = 1, #KEYS do
  local rate = tonumber(ARGV[1 + 2 * i])
  local burst = tonumber(ARGV[2 + 2 * i])
  local state = redis.call('HMGET', KEYS[i], 't', 'at')
  local level = burst
  if state[1] then
    level = math.min(burst, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * rate / 1000)
  end
  levels[i] = level
  if math.floor(level) < granted then
    granted = math.max(0, math.floor(level))
    limiting = i
  end
end
for i = 1, #KEYS do
  local rate = tonumber(ARGV[1 + 2 * i])
  local burst = tonumber(ARGV[2 + 2 * i])
  local left = levels[i] - granted
  redis.call('HSET', KEYS[i], 't', tostring(left), 'at', ARGV[2])
  redis.call('PEXPIRE', KEYS[i], math.ceil((burst - left) * 1000 / rate) + 1000)
end
return { granted, limiting }
`;

/** Takes up to `cost` tokens from every bucket at once, in Redis. */
export async function takeTokens(
  redis: RedisClient,
  key: KeyOf,
  buckets: readonly RateBucket[],
  cost: number,
  now: number,
): Promise<RateTake> {
  const args: (string | number)[] = [cost, now];
  for (const b of buckets) args.push(b.rate, b.burst);
  const [granted, limiting] = (await redis.eval(TAKE, buckets.length, ...buckets.map((b) => key('rate', b.key)), ...args)) as [
    number,
    number,
  ];
  return { granted, limitedBy: limiting - 1 };
}
