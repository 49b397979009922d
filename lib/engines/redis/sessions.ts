/**
 * Sessions as Redis stores them: `<ns>:session:<id>` (hash: user, userKey,
 * ip, transport, data, owner, ack, browser, and `p:<channel>` for each history
 * channel: the offset its client confirmed, see positions.ts), `<ns>:sessions` (zset, score =
 * last seen), `<ns>:ips` (hash: sessions per IP) and `<ns>:subs:<id>` (set).
 * Creating and ending are one Lua script each, so limits hold across nodes
 * and the `disconnect` event fires once in the cluster.
 *
 * On a Redis Cluster `<ns>:sessions` only counts the sessions (score = when
 * created) and the last seen lives in a bucket of its own slot (last-seen.ts),
 * written apart from the script: the bucket entry is added before the record
 * and removed after it, so a session always has one; an entry whose record is
 * gone (a node died in between, or the record's script failed) is removed by
 * the sweeper when it finds nothing to end.
 */
import { SessionLimitError } from '../engine.js';
import type { MaybePromise } from '../maybe-promise.js';
import { type DisconnectReason, Session, type SessionInit } from '../session.js';
import type { RedisNode } from './node.js';
import { PresenceStore } from './presence.js';
import { CREATE, DESTROY } from './scripts.js';
import { UserIndex } from './user-index.js';

/** How far (a share of maxInterval) the stored last seen of a connected session may lag behind now (housekeeping). */
export const STORED_LAG = 0.25;

const FIELDS = ['user', 'userKey', 'ip', 'transport', 'data', 'owner', 'ack', 'browser'] as const;

export class SessionRecords<User> {
  readonly users: UserIndex;
  readonly presence: PresenceStore;

  constructor(private readonly node: RedisNode<User>) {
    const redis = () => node.redis();
    const key = (...parts: string[]) => node.key(...parts);
    this.users = new UserIndex(redis, key);
    this.presence = new PresenceStore(redis, key);
  }

  /** Creates a session owned by this node; rejects with `SessionLimitError` past a limit. */
  async create(init: SessionInit<User>): Promise<Session<User>> {
    const { node } = this;
    const { limits } = node.local.host;
    const now = Date.now();
    const fields = [
      'user',
      JSON.stringify(init.user ?? null),
      'userKey',
      init.userKey ?? '',
      'ip',
      init.ip,
      'transport',
      init.transport,
      'data',
      JSON.stringify(init.data),
      'owner',
      node.nodeId,
      'ack',
      init.ack === true ? '1' : '0',
      'browser',
      init.browser ?? '',
    ];
    await this.users.add(init);
    // On a cluster last seen is kept apart from the record (last-seen.ts): its entry first.
    const seen = node.seenKey(init.id);
    if (node.sharded) await node.redis().zadd(seen, now, init.id);
    const result = await node
      .redis()
      .eval(
        CREATE,
        3,
        node.key('session', init.id),
        node.key('sessions'),
        node.key('ips'),
        init.id,
        now,
        limits.maxSessions,
        limits.maxSessionsPerIp,
        init.ip,
        ...fields,
      );
    if (result !== 'ok') {
      await this.users.remove(init.id, init.userKey);
      if (node.sharded) await node.redis().zrem(seen, init.id);
    }
    if (result === 'max') throw new SessionLimitError(`the cluster holds ${limits.maxSessions} sessions, its limit`);
    if (result === 'ip') throw new SessionLimitError(`${init.ip} holds ${limits.maxSessionsPerIp} sessions, the limit per IP`);
    const session = new Session(init, now);
    // Stored by the script just now: housekeeping writes it again only once it changes.
    session.storedSeen = now;
    node.local.add(session);
    return session;
  }

  /** The session: the local object when this node owns it, else a view read from Redis. */
  find(clientId: string): MaybePromise<Session<User> | undefined> {
    const mine = this.node.local.get(clientId);
    if (mine !== undefined) return mine;
    return this.node
      .redis()
      .hmget(this.node.key('session', clientId), ...FIELDS)
      .then((values) => (values[5] === null ? undefined : viewOf(clientId, values)));
  }

  /** Ends a session everywhere, once: whichever node's script deletes it reports the end. */
  async destroy(clientId: string, reason: DisconnectReason): Promise<boolean> {
    const { node } = this;
    // Read before the script deletes them: the presence entries to clean and the `leave` events to send.
    const channels = await node.redis().smembers(node.key('subs', clientId));
    const fields = (await node
      .redis()
      .eval(DESTROY, 4, node.key('session', clientId), node.key('sessions'), node.key('ips'), node.key('subs', clientId), clientId)) as
      | string[]
      | null;
    if (fields === null) return false;
    if (node.sharded) await node.redis().zrem(node.seenKey(clientId), clientId);
    const record: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i] as string] = fields[i + 1] as string;
    const cleanup = node.redis().pipeline();
    this.users.forget(cleanup, clientId, record.userKey);
    this.presence.forget(cleanup, clientId, channels);
    await cleanup.exec();
    const host = node.local.host;
    const mine = node.local.get(clientId);
    if (mine !== undefined) node.local.release(mine, reason);
    // The owner read by the same script that deleted the session: a move cannot slip in between.
    else if (record.owner !== undefined) await node.sendTo(record.owner, { kind: 'session-ended', id: clientId, reason });
    host.sessionEnded(
      mine ??
        viewOf(
          clientId,
          FIELDS.map((f) => record[f] ?? null),
        ),
      reason,
      channels,
    );
    return true;
  }

  /** Ends every session bound to `userKey`; resolves with how many ended. */
  async destroyUser(userKey: string, reason: DisconnectReason): Promise<number> {
    const ids = await this.users.sessionsOf(userKey);
    const ended = await Promise.all(ids.map((id) => this.destroy(id, reason)));
    // Members whose session had already ended are stale: drop them.
    const stale = ids.filter((_, i) => !ended[i]);
    if (stale.length > 0) await this.node.redis().srem(this.node.key('user', userKey), ...stale);
    return ended.length - stale.length;
  }
}

/** A session as stored in Redis (user, userKey, ip, transport, data, owner, ack, browser), as a non-owned view. */
function viewOf<User>(id: string, values: (string | null)[]): Session<User> {
  const [user, userKey, ip, transport, data, , ack, browser] = values;
  return new Session(
    {
      id,
      // Stored as JSON by `create` from the `User` the server handed in.
      user: user ? ((JSON.parse(user) as User | null) ?? undefined) : undefined,
      userKey: userKey ? userKey : undefined,
      ip: ip ?? '',
      transport: transport ?? '',
      data: data ? (JSON.parse(data) as Record<string, unknown>) : {},
      ack: ack === '1',
      browser: browser ? browser : undefined,
    },
    Date.now(),
  );
}
