/**
 * Channel history in Redis Streams (decision 12). A publish on a history
 * channel is one script: it numbers the message, fills its position in,
 * XADDs it (MAXLEN = size) and PUBLISHes it to the channel of each pattern
 * that can match it (node.ts), so the order of the Stream and of live
 * delivery is one, and a publish still costs one Redis call whatever the
 * number of subscribers.
 *
 * Keys, built with the engine's `channelKey()`: `history` (the Stream;
 * entry id `<offset>-0`, fields t = Redis time in ms, m = the message) and
 * `history-meta` (hash: epoch, top) of the channel. A meta hash that is gone
 * (a flush, or idle past its expiry) starts a new epoch at the clock in µs.
 * On a Redis Cluster both live in the channel's own slot with its pub/sub
 * channel: the script publishes the channel's own numbered copy and returns
 * the frame, which the engine sends on to the wildcard patterns some node
 * wants (node.ts `spread`).
 *
 * Seamless replay: live messages for a session that is being replayed are
 * held while the Stream is read (the subscription is live before the read
 * starts), then delivered after the replayed ones, skipping any offset the
 * read already had.
 */
import { randomBytes } from 'node:crypto';
import type { Envelope } from '../engine.js';
import { BEFORE_ANY, type HistoryConfig, type ReplayFrom, ReplayRefusedError } from '../history/config.js';
import type { Position } from '../history/position.js';
import type { SubscriptionChange } from '../local-sessions.js';
import type { Logger } from '../logger.js';
import type { Session } from '../session.js';
import type { RedisClient } from './connection.js';
import type { ReplayFrame } from './frames.js';
import { savePositions } from './positions.js';
import { broadcastFunction, SEQUENCE_TTL, SEQUENCED_FUNCTION } from './scripts.js';

/** The meta hash outlives the Stream so that offsets go on after a quiet spell: 30 days, or ttl if longer. */
const META_TTL = 30 * 24 * 60 * 60 * 1000;
/** Entries read per XRANGE. */
const PAGE = 100;

/**
 * KEYS: stream, meta (on a cluster also the channel's sequence key). ARGV: on one Redis the pub/sub channels' prefix, a newline and
 * the channel (see `broadcastFunction`), on a cluster the channel's pub/sub channel; candidate epoch, size, ttl, meta ttl,
 * frame head (the offset, a newline and the message follow it), hole letters ('o' offset, 'e' epoch), then the template's parts.
 * Returns the offset given to the message (on a cluster, the offset and the frame).
 */
const script = (sharded: boolean): string => `${sharded ? SEQUENCED_FUNCTION : broadcastFunction('PUBLISH')}
local t = redis.call('TIME')
local epoch = redis.call('HGET', KEYS[2], 'epoch')
local top
if not epoch then
  epoch = ARGV[2]
  top = tonumber(t[1]) * 1000000 + tonumber(t[2])
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[2], 'epoch', epoch, 'base', string.format('%.0f', top))
else
  top = tonumber(redis.call('HGET', KEYS[2], 'top'))
end
local offset = string.format('%.0f', top + 1)
redis.call('HSET', KEYS[2], 'top', offset)
local holes = ARGV[7]
local json = ARGV[8]
for i = 1, #holes do
  if string.sub(holes, i, i) == 'o' then json = json .. offset else json = json .. '"' .. epoch .. '"' end
  json = json .. ARGV[8 + i]
end
local now = string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], offset .. '-0', 't', now, 'm', json)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
local frame = ARGV[6] .. offset .. '\\n' .. json
${
  sharded
    ? `sequenced(KEYS[3], ARGV[1], frame, ${SEQUENCE_TTL})
return { offset, frame }`
    : `local split = string.find(ARGV[1], '\\n', 1, true)
broadcast(string.sub(ARGV[1], 1, split - 1), string.sub(ARGV[1], split + 1), frame)
return offset`
}
`;
const PUBLISH = script(false);
// On a Redis Cluster the channels are sharded (see connection.ts).
const SPUBLISH = script(true);

/** A kept message. */
export interface Kept {
  offset: number;
  json: string;
}

/** What the history needs from the engine. */
export interface HistoryEngine<User> {
  readonly logger: Logger;
  redis(): RedisClient;
  key(...parts: string[]): string;
  /** A channel's own key or pub/sub channel (node.ts `channelKey`). */
  channelKey(channel: string, what: 'c' | 'n' | 'history' | 'history-meta'): string;
  /** True on a Redis Cluster: broadcasts are published with SPUBLISH, numbered. */
  readonly sharded: boolean;
  /** On a Redis Cluster: sends a broadcast of `channel` on to the wildcard patterns some node wants. */
  spread(channel: string, payload: string): Promise<unknown>;
  /** Sends a frame to the node that owns the session `id` (none when the session is gone). */
  toOwner(id: string, frame: ReplayFrame): Promise<unknown>;
  /** Queues a kept message of `channel` for a session (unless it was given it already). */
  deliver(session: Session<User>, kept: Kept, channel: string): void;
  /** A replay of `channel` after `offset` starts: what the session holds of it after that goes (it comes again). */
  rewind(session: Session<User>, channel: string, offset: number): void;
  /** The session when this node delivers to it. */
  owned(id: string): Session<User> | undefined;
  /** Adds or removes subscriptions, as `Engine.subscribe` does; returns those that changed. */
  change(session: Session<User>, channels: readonly string[], change: SubscriptionChange): Promise<string[]>;
  /** Indexes a subscription of an owned session on this node (its Redis set already has it); resolves once its messages reach this node. */
  attach(session: Session<User>, channel: string): Promise<void>;
}

export class RedisHistory<User> {
  /** Live messages held per session id and channel while that channel is replayed. */
  private readonly held = new Map<string, Map<string, Kept[]>>();

  constructor(
    private readonly config: HistoryConfig,
    private readonly engine: HistoryEngine<User>,
  ) {}

  /** True while some replay holds live messages (routing takes the slower path only then). */
  get holding(): boolean {
    return this.held.size > 0;
  }

  /** XADD + PUBLISH in one script; `head` is the broadcast frame up to the offset. */
  async publish(envelope: Envelope, prefix: string, head: string): Promise<void> {
    const template = envelope.template;
    if (template === undefined) throw new Error('redisEngine: a history publish needs a template');
    const { channelKey, sharded } = this.engine;
    const { channel } = envelope;
    const keys = [channelKey(channel, 'history'), channelKey(channel, 'history-meta')];
    if (sharded) keys.push(channelKey(channel, 'n'));
    const result = await this.engine
      .redis()
      .eval(
        sharded ? SPUBLISH : PUBLISH,
        keys.length,
        ...keys,
        sharded ? channelKey(channel, 'c') : `${prefix}\n${channel}`,
        randomBytes(6).toString('base64url'),
        this.config.size,
        this.config.ttl,
        Math.max(META_TTL, this.config.ttl),
        head,
        template.holes.map((h) => (h === 'offset' ? 'o' : 'e')).join(''),
        ...template.parts,
      );
    if (sharded) await this.engine.spread(channel, (result as [string, string])[1]);
  }

  /**
   * `Engine.subscribe` with replay. The owner holds live messages, subscribes,
   * reads, then delivers; another node checks the positions, records the
   * subscriptions and asks the owner (a `replay` frame to the owner's channel).
   */
  async subscribe(session: Session<User>, channels: readonly string[], replay: ReadonlyMap<string, ReplayFrom>): Promise<string[]> {
    const replayed = [...replay.keys()];
    const mine = this.engine.owned(session.id);
    if (mine === undefined) {
      // The owner goes live later than this node reads: a live start becomes "after the newest now".
      const forOwner: [string, ReplayFrom][] = [];
      for (const [channel, from] of replay) {
        if (from.kind === 'new') {
          from.at = await this.top(channel);
          forOwner.push([channel, { kind: 'after', offset: from.at.offset, epoch: from.at.epoch }]);
        } else {
          await this.read(channel, from);
          forOwner.push([channel, from]);
        }
      }
      const added = await this.engine.change(
        session,
        channels.filter((c) => !replay.has(c)),
        'subscribe',
      );
      const redis = this.engine.redis();
      const pipeline = redis.pipeline();
      for (const channel of replayed) pipeline.sadd(this.engine.key('subs', session.id), channel);
      const results = (await pipeline.exec()) ?? [];
      const fresh = replayed.filter((_, i) => results[i]?.[1] === 1);
      await this.started(session, replay, fresh);
      for (const [channel, from] of forOwner) {
        const frame: ReplayFrame = { kind: 'replay', id: session.id, channel, from: JSON.stringify(from) };
        await this.engine.toOwner(session.id, frame);
      }
      return [...added, ...fresh];
    }
    this.hold(mine.id, replayed);
    let added: string[] = [];
    try {
      added = await this.engine.change(mine, channels, 'subscribe');
      const reads: (Kept[] | Position)[] = [];
      for (const [channel, from] of replay) reads.push(from.kind === 'new' ? await this.top(channel) : await this.read(channel, from));
      let i = 0;
      for (const [channel, from] of replay) {
        const read = reads[i++] as Kept[] | Position;
        if (Array.isArray(read)) this.finish(mine, channel, read, replayStart(from));
        else if (from.kind === 'new') from.at = this.goLive(mine, channel, read);
      }
      await this.started(mine, replay, added);
      return added;
    } catch (err) {
      // Refused: what this request subscribed is undone; a subscription held before stays, with its live messages.
      const fresh = added.filter((c) => replay.has(c));
      for (const channel of replayed) this.abort(mine, channel, !fresh.includes(channel));
      if (fresh.length > 0) await this.engine.change(mine, fresh, 'unsubscribe');
      throw err;
    }
  }

  /**
   * Keeps where each subscription of a subscribe with replay starts, as the
   * client's confirmed position until it confirms more: a node taking the
   * session over after its owner died resumes after it, so what the client
   * had before (a replay id's message, or anything before a live start) does
   * not come again. A live start counts only for a channel this request newly
   * subscribed (`fresh`): on one held before, the client's own position stands.
   */
  private async started(session: Session<User>, replay: ReadonlyMap<string, ReplayFrom>, fresh: readonly string[]): Promise<void> {
    const starts = new Map<string, number>();
    for (const [channel, from] of replay) {
      const start = replayStart(from) ?? (fresh.includes(channel) ? from.kind === 'new' && from.at?.offset : undefined);
      if (typeof start === 'number') starts.set(channel, start);
    }
    if (this.engine.owned(session.id) === session) session.positions().record(starts);
    await savePositions(this.engine.redis(), this.engine.key('session', session.id), starts);
  }

  /**
   * Ends holding for a live start and returns the position it starts after:
   * the newest read, or just before the first held message when that one was
   * published before the read (it is delivered, so the position must precede it).
   */
  private goLive(session: Session<User>, channel: string, top: Position): Position {
    const held = this.release(session.id, channel);
    for (const kept of held) this.engine.deliver(session, kept, channel);
    const first = held[0]?.offset ?? Number.POSITIVE_INFINITY;
    return first <= top.offset ? { offset: first - 1, epoch: top.epoch } : top;
  }

  /** The newest position of `channel`, or `BEFORE_ANY` when it has had no message (or its history is gone). */
  async top(channel: string): Promise<Position> {
    const [epoch, top] = await this.engine.redis().hmget(this.engine.channelKey(channel, 'history-meta'), 'epoch', 'top');
    return typeof epoch !== 'string' || typeof top !== 'string' ? { ...BEFORE_ANY } : { offset: Number(top), epoch };
  }

  /** The owner's part of a subscribe with replay that another node took. */
  async replayed(event: ReplayFrame): Promise<void> {
    const session = this.engine.owned(event.id);
    if (session === undefined) return;
    this.hold(session.id, [event.channel]);
    try {
      // Live before the read: what the read misses comes live, held until the read is delivered.
      await this.engine.attach(session, event.channel);
      const from = JSON.parse(event.from) as ReplayFrom;
      this.finish(session, event.channel, await this.read(event.channel, from), replayStart(from));
    } catch (err) {
      // The position was checked by the other node an instant ago; it went in between (evicted at the edge).
      this.abort(session, event.channel, true);
      this.engine.logger.warn({ err, clientId: session.id, channel: event.channel }, 'express-bayeux: replay refused after the check');
    }
  }

  /**
   * A session moved here from a dead node: re-sends, from history, what its
   * client had not confirmed (after `confirmed`, channel to offset), or, on a
   * channel without a confirmed position, what was published since `sinceMs`.
   */
  async resume(
    session: Session<User>,
    channels: readonly string[],
    confirmed: ReadonlyMap<string, number>,
    sinceMs: number,
  ): Promise<void> {
    for (const channel of channels) {
      const offset = confirmed.get(channel);
      try {
        this.finish(session, channel, offset === undefined ? await this.since(channel, sinceMs) : await this.after(channel, offset));
      } catch (err) {
        this.abort(session, channel, true);
        this.engine.logger.error({ err, clientId: session.id, channel }, 'express-bayeux: history resume failed');
      }
    }
  }

  /** What to replay from `from`; throws `ReplayRefusedError` when the position cannot be honoured. */
  async read(channel: string, from: ReplayFrom): Promise<Kept[]> {
    if (from.kind === 'new') {
      from.at = await this.top(channel);
      return [];
    }
    const since = Date.now() - this.config.ttl;
    if (from.kind === 'all') return this.range(channel, '-', since);
    const { offset, epoch } = from;
    const [current, top, base] = await this.engine.redis().hmget(this.engine.channelKey(channel, 'history-meta'), 'epoch', 'top', 'base');
    if (epoch === BEFORE_ANY.epoch && offset === BEFORE_ANY.offset) {
      // Subscribed before the channel had a message: everything is missed, if all of it is still kept.
      if (current === null || top === null) return [];
      const kept = await this.range(channel, '-', since);
      if (Number(top) > Number(base) && kept[0]?.offset !== Number(base) + 1) throw new ReplayRefusedError(channel, offset, 'evicted');
      return kept;
    }
    if (current === null || top === null) throw new ReplayRefusedError(channel, offset, epoch === undefined ? 'unknown' : 'epoch');
    if (epoch !== undefined && epoch !== current) throw new ReplayRefusedError(channel, offset, 'epoch');
    if (offset > Number(top)) throw new ReplayRefusedError(channel, offset, 'unknown');
    if (offset === Number(top)) return [];
    const kept = await this.range(channel, `(${offset}-0`, since);
    if (kept[0]?.offset !== offset + 1) throw new ReplayRefusedError(channel, offset, 'evicted');
    return kept;
  }

  /** Everything kept on `channel` after `offset` (an offset of an earlier epoch lies below all of the current one). */
  private after(channel: string, offset: number): Promise<Kept[]> {
    return this.range(channel, `(${offset}-0`, Date.now() - this.config.ttl);
  }

  /** Everything kept on `channel` since `sinceMs` (a session whose node died may have missed it). */
  since(channel: string, sinceMs: number): Promise<Kept[]> {
    return this.range(channel, '-', Math.max(sinceMs, Date.now() - this.config.ttl));
  }

  /** Starts holding live messages of `channels` for a session, before it is subscribed to them. */
  hold(id: string, channels: readonly string[]): void {
    let byChannel = this.held.get(id);
    if (byChannel === undefined) {
      byChannel = new Map();
      this.held.set(id, byChannel);
    }
    for (const channel of channels) if (!byChannel.has(channel)) byChannel.set(channel, []);
  }

  /** Holds a live message when its session's channel is being replayed; false when it should be delivered now. */
  keep(id: string, channel: string, message: Kept): boolean {
    const held = this.held.get(id)?.get(channel);
    if (held === undefined) return false;
    held.push(message);
    return true;
  }

  /**
   * Delivers the replayed messages, then the held live ones the read did not
   * have, and stops holding. With `after`, the replay starts after that
   * offset: what the session already holds of the channel beyond it goes
   * first, so that each message comes once, in order.
   */
  finish(session: Session<User>, channel: string, kept: readonly Kept[], after?: number): void {
    const held = this.release(session.id, channel);
    if (after !== undefined) this.engine.rewind(session, channel, after);
    let last = -1;
    for (const entry of kept) {
      this.engine.deliver(session, entry, channel);
      last = entry.offset;
    }
    for (const entry of held) if (entry.offset > last) this.engine.deliver(session, entry, channel);
  }

  /** Stops holding; the held messages are delivered when `deliver` is true (the subscription stays). */
  abort(session: Session<User>, channel: string, deliver: boolean): void {
    const held = this.release(session.id, channel);
    if (deliver) for (const entry of held) this.engine.deliver(session, entry, channel);
  }

  private release(id: string, channel: string): Kept[] {
    const byChannel = this.held.get(id);
    const held = byChannel?.get(channel) ?? [];
    byChannel?.delete(channel);
    if (byChannel?.size === 0) this.held.delete(id);
    return held;
  }

  /** XRANGE from `start` in pages, keeping entries not older than `since` (ms). */
  private async range(channel: string, start: string, since: number): Promise<Kept[]> {
    const redis = this.engine.redis();
    const key = this.engine.channelKey(channel, 'history');
    const kept: Kept[] = [];
    // Bounded: the Stream holds `size` entries, plus what arrives while reading.
    for (let pages = Math.ceil(this.config.size / PAGE) + 2; pages > 0; pages--) {
      const page = await redis.xrange(key, start, '+', 'COUNT', PAGE);
      for (const [id, fields] of page) {
        const time = Number(fieldOf(fields, 't'));
        if (time >= since) kept.push({ offset: Number(id.slice(0, id.indexOf('-'))), json: fieldOf(fields, 'm') });
      }
      if (page.length < PAGE) break;
      start = `(${(page[page.length - 1] as [string, string[]])[0]}`;
    }
    return kept;
  }
}

function fieldOf(fields: readonly string[], name: string): string {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1] as string;
  return '';
}

/** The offset a replay starts after: -1 for everything kept, none for a live start. */
function replayStart(from: ReplayFrom): number | undefined {
  return from.kind === 'after' ? from.offset : from.kind === 'all' ? -1 : undefined;
}
