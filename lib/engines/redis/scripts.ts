/** Lua scripts: each multi-key change happens atomically, once. */

/**
 * Creates a session within the limits.
 * KEYS: session hash, seen zset, ips hash. ARGV: id, now, maxSessions, maxPerIp, ip, then field/value pairs.
 * Returns 'ok', 'max' or 'ip'.
 */
export const CREATE = `
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return 'max' end
local n = tonumber(redis.call('HGET', KEYS[3], ARGV[5]) or '0')
if n >= tonumber(ARGV[4]) then return 'ip' end
for i = 6, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('HINCRBY', KEYS[3], ARGV[5], 1)
return 'ok'
`;

/**
 * Ends a session, once: whoever deletes the hash reports the end.
 * KEYS: session hash, seen zset, ips hash, subs set. ARGV: id.
 * Returns the session's fields (flat list), or false when it was already gone.
 */
export const DESTROY = `
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return false end
redis.call('DEL', KEYS[1], KEYS[4])
redis.call('ZREM', KEYS[2], ARGV[1])
local ip = false
for i = 1, #fields, 2 do if fields[i] == 'ip' then ip = fields[i + 1] end end
if ip then
  if redis.call('HINCRBY', KEYS[3], ip, -1) <= 0 then redis.call('HDEL', KEYS[3], ip) end
end
return fields
`;

/**
 * Makes a node the owner and reads what a move needs, in one round trip.
 * KEYS: session hash, its subscriptions set. ARGV: node id, the prefix of the
 * nodes' heartbeat keys. Returns false when the session is gone, else the
 * previous owner, 1 when that is another node whose heartbeat is still there
 * (0 otherwise), and the subscriptions, read after the claim (ownership.ts).
 * The heartbeat key is built here from the previous owner: it has the
 * namespace's hash tag like the session's, so it is in the same slot.
 */
export const CLAIM = `
local previous = redis.call('HGET', KEYS[1], 'owner')
if not previous then return false end
redis.call('HSET', KEYS[1], 'owner', ARGV[1])
local alive = 0
if previous ~= ARGV[1] then alive = redis.call('EXISTS', ARGV[2] .. previous) end
return {previous, alive, redis.call('SMEMBERS', KEYS[2])}
`;

/**
 * A Lua function publishing `payload` to the channel of every subscription
 * pattern that can match the concrete channel `name` (as `expand` does in
 * protocol/channel.ts: `/a/b` to `/a/b`, `/a/*`, `/a/**`, `/**`), each channel
 * being `prefix` followed by the pattern. Computed in Redis, so a publish
 * sends its channel name once, not once per pattern.
 */
export const broadcastFunction = (publish: 'PUBLISH' | 'SPUBLISH'): string => `
local function broadcast(prefix, name, payload)
  redis.call('${publish}', prefix .. name, payload)
  local slashes = {}
  local from = 1
  while true do
    local at = string.find(name, '/', from, true)
    if not at then break end
    slashes[#slashes + 1] = at
    from = at + 1
  end
  local parent = string.sub(name, 1, slashes[#slashes] - 1)
  redis.call('${publish}', prefix .. parent .. '/*', payload)
  redis.call('${publish}', prefix .. parent .. '/**', payload)
  for i = #slashes - 1, 1, -1 do
    redis.call('${publish}', prefix .. string.sub(name, 1, slashes[i] - 1) .. '/**', payload)
  end
end
`;

/** KEYS: a key of the namespace (a cluster runs it on the namespace's slot). ARGV: the payload, the channels' prefix, the concrete channel. */
export const BROADCAST = (publish: 'PUBLISH' | 'SPUBLISH'): string => `${broadcastFunction(publish)}
broadcast(ARGV[2], ARGV[3], ARGV[1])
return 0
`;

/**
 * On a Redis Cluster: a Lua function publishing `payload` on one pattern's
 * pub/sub channel, numbered. KEYS-side `seq` is the pattern's sequence key,
 * in the channel's slot. The first number of a sequence is Redis's clock in
 * µs, and the key lives `ttl` ms from then (not refreshed on each publish: one
 * INCR per message is all a publish adds). A sequence that expired starts
 * again at the clock, which is above any number it reached: that would take
 * more than one INCR per µs since it started. So numbers of one channel only
 * go up, and a node compares numbers of one channel only.
 * The frame goes out as `#<number>\n<frame>` (frames.ts `sequenced`).
 */
export const SEQUENCED_FUNCTION = `
local function sequenced(seq, channel, payload, ttl)
  local n = redis.call('INCR', seq)
  if n == 1 then
    local t = redis.call('TIME')
    n = tonumber(t[1]) * 1000000 + tonumber(t[2])
    redis.call('SET', seq, string.format('%.0f', n), 'PX', ttl)
  end
  redis.call('SPUBLISH', channel, '#' .. string.format('%.0f', n) .. '\\n' .. payload)
end
`;

/** How long a pattern's sequence key lives from its first message (ms); it starts again above where it was. */
export const SEQUENCE_TTL = 24 * 60 * 60 * 1000;

/** KEYS: the pattern's sequence key. ARGV: its pub/sub channel, the frame, the sequence's lifetime (ms). */
export const SEQUENCED = `${SEQUENCED_FUNCTION}
sequenced(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
return 0
`;
