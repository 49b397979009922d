/**
 * Where a session's client stands on its history channels, kept in Redis so
 * that the node taking the session over after its owner died resumes exactly
 * after it: `p:<channel>` fields of the session hash, the offset the client
 * confirmed (or where its subscription started). Written with a script that
 * leaves an ended session's hash gone.
 */
import type { RedisClient } from './connection.js';

const PREFIX = 'p:';

/** KEYS: session hash. ARGV: field, value pairs. Sets them only while the session exists. */
const SET_IF_EXISTS = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`;

/** Keeps the positions (channel to offset) on the session hash `sessionKey`. */
export async function savePositions(redis: RedisClient, sessionKey: string, positions: ReadonlyMap<string, number>): Promise<void> {
  if (positions.size === 0) return;
  const fields: (string | number)[] = [];
  for (const [channel, offset] of positions) fields.push(PREFIX + channel, offset);
  await redis.eval(SET_IF_EXISTS, 1, sessionKey, ...fields);
}

/** The positions kept on the session hash `sessionKey`. */
export async function loadPositions(redis: RedisClient, sessionKey: string): Promise<Map<string, number>> {
  const record = await redis.hgetall(sessionKey);
  const positions = new Map<string, number>();
  for (const [name, value] of Object.entries(record)) {
    if (name.startsWith(PREFIX)) positions.set(name.slice(PREFIX.length), Number(value));
  }
  return positions;
}
