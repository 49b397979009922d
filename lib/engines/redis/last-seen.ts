/**
 * Where a session's last seen is kept (housekeeping writes it, the sweeper
 * expires by it). On one Redis: the namespace's `sessions` sorted set. On a
 * Redis Cluster: one of `SEEN_BUCKETS` sorted sets `{ns:#<tag>}:seen`, each
 * with a hash tag of its own, so that every node's housekeeping writes spread
 * over the primaries instead of all landing on the namespace's slot. The tags
 * are chosen so that bucket b's slot lies in the b-th of `SEEN_BUCKETS` equal
 * slot ranges: a cluster whose primaries hold equal ranges (as `redis-cli
 * --cluster create` makes them) gets an equal share of buckets on each. The
 * session record stays in the namespace's slot (limits are checked there
 * atomically), so the two are written by separate commands, in an order that
 * cannot leave a session without an entry (sessions.ts).
 */
import calculateSlot from 'cluster-key-slot';

/** How many last-seen sets a namespace has on a Redis Cluster. */
const SEEN_BUCKETS = 32;

const SLOTS = 16384;

/** The bucket of a session id (FNV-1a of its characters). */
export function seenBucket(clientId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < clientId.length; i++) hash = Math.imul(hash ^ clientId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % SEEN_BUCKETS;
}

/** The names of a namespace's last-seen sets on a Redis Cluster, by bucket. */
export function seenBucketKeys(namespace: string): string[] {
  const range = SLOTS / SEEN_BUCKETS;
  return Array.from({ length: SEEN_BUCKETS }, (_, bucket) => {
    // About SEEN_BUCKETS tries per bucket: a tag's slot is uniform over the 16,384.
    for (let attempt = 0; ; attempt++) {
      const key = `{${namespace}:#${bucket}.${attempt}}:seen`;
      if (Math.floor(calculateSlot(key) / range) === bucket) return key;
    }
  });
}
