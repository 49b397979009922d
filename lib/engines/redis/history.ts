/**
 * Channel history in Redis Streams (decision 12). A publish on a history
 * channel is one script: it numbers the message, fills its position in,
 * XADDs it (MAXLEN = size) and PUBLISHes it on the namespace's stream, so
 * the order of the Stream and of live delivery is one, and a publish still
 * costs one Redis call whatever the number of subscribers.
 *
 * Keys, built with the engine's `key()`: `history:<channel>` (the Stream;
 * entry id `<offset>-0`, fields t = Redis time in ms, m = the message) and
 * `history-meta:<channel>` (hash: epoch, top). A meta hash that is gone (a
 * flush, or idle past its expiry) starts a new epoch at the clock in µs.
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
import { encode, type ReplayFrame } from './stream.js';

/** The meta hash outlives the Stream so that offsets go on after a quiet spell: 30 days, or ttl if longer. */
const META_TTL = 30 * 24 * 60 * 60 * 1000;
/** Entries read per XRANGE. */
const PAGE = 100;

/**
 * KEYS: stream, meta. ARGV: pub/sub channel, candidate epoch, size, ttl, meta ttl,
 * event head, hole letters ('o' offset, 'e' epoch), then the template's parts.
 * Returns the offset given to the message.
 */
const script = (publish: 'PUBLISH' | 'SPUBLISH'): string => `
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
redis.call('${publish}', ARGV[1], ARGV[6] .. json)
return offset
`;
// On a Redis Cluster the stream is a sharded channel (see connection.ts).
const PUBLISH = script('PUBLISH');
const SPUBLISH = script('SPUBLISH');

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
  /** True on a Redis Cluster: the stream is published with SPUBLISH. */
  readonly sharded: boolean;
  /** Publishes on one of the namespace's channels (sharded on a cluster). */
  send(channel: string, payload: string): Promise<unknown>;
  deliver(session: Session<User>, json: string): void;
  /** The session when this node delivers to it. */
  owned(id: string): Session<User> | undefined;
  /** Adds or removes subscriptions, as `Engine.subscribe` does; returns those that changed. */
  change(session: Session<User>, channels: readonly string[], change: SubscriptionChange): Promise<string[]>;
  /** Indexes a subscription of an owned session on this node (its Redis set already has it). */
  attach(session: Session<User>, channel: string): void;
}

export class RedisHistory<User> {
  /** Live messages held per session id and channel while that channel is replayed. */
  private readonly held = new Map<string, Map<string, string[]>>();

  constructor(
    private readonly config: HistoryConfig,
    private readonly engine: HistoryEngine<User>,
  ) {}

  /** True while some replay holds live messages (routing takes the slower path only then). */
  get holding(): boolean {
    return this.held.size > 0;
  }

  /** XADD + PUBLISH in one script; `head` is the stream event up to the message. */
  async publish(envelope: Envelope, streamChannel: string, head: string): Promise<void> {
    const template = envelope.template;
    if (template === undefined) throw new Error('redisEngine: a history publish needs a template');
    const { key } = this.engine;
    await this.engine
      .redis()
      .eval(
        this.engine.sharded ? SPUBLISH : PUBLISH,
        2,
        key('history', envelope.channel),
        key('history-meta', envelope.channel),
        streamChannel,
        randomBytes(6).toString('base64url'),
        this.config.size,
        this.config.ttl,
        Math.max(META_TTL, this.config.ttl),
        head,
        template.holes.map((h) => (h === 'offset' ? 'o' : 'e')).join(''),
        ...template.parts,
      );
  }

  /**
   * `Engine.subscribe` with replay. The owner holds live messages, subscribes,
   * reads, then delivers; another node checks the positions, records the
   * subscriptions and asks the owner (a `replay` frame on the ordered stream).
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
      for (const [channel, from] of forOwner) {
        const frame: ReplayFrame = { kind: 'replay', id: session.id, channel, from: JSON.stringify(from) };
        await this.engine.send(this.engine.key('stream'), encode(frame));
      }
      return [...added, ...replayed.filter((_, i) => results[i]?.[1] === 1)];
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
        if (Array.isArray(read)) this.finish(mine, channel, read);
        else if (from.kind === 'new') from.at = this.goLive(mine, channel, read);
      }
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
   * Ends holding for a live start and returns the position it starts after:
   * the newest read, or just before the first held message when that one was
   * published before the read (it is delivered, so the position must precede it).
   */
  private goLive(session: Session<User>, channel: string, top: Position): Position {
    const held = this.release(session.id, channel);
    for (const json of held) this.engine.deliver(session, json);
    const first = held.length > 0 ? offsetOf(held[0] as string) : Number.POSITIVE_INFINITY;
    return first <= top.offset ? { offset: first - 1, epoch: top.epoch } : top;
  }

  /** The newest position of `channel`, or `BEFORE_ANY` when it has had no message (or its history is gone). */
  async top(channel: string): Promise<Position> {
    const [epoch, top] = await this.engine.redis().hmget(this.engine.key('history-meta', channel), 'epoch', 'top');
    return typeof epoch !== 'string' || typeof top !== 'string' ? { ...BEFORE_ANY } : { offset: Number(top), epoch };
  }

  /** The owner's part of a subscribe with replay that another node took. */
  async replayed(event: ReplayFrame): Promise<void> {
    const session = this.engine.owned(event.id);
    if (session === undefined) return;
    this.hold(session.id, [event.channel]);
    this.engine.attach(session, event.channel);
    try {
      this.finish(session, event.channel, await this.read(event.channel, JSON.parse(event.from) as ReplayFrom));
    } catch (err) {
      // The position was checked by the other node an instant ago; it went in between (evicted at the edge).
      this.abort(session, event.channel, true);
      this.engine.logger.warn({ err, clientId: session.id, channel: event.channel }, 'express-bayeux: replay refused after the check');
    }
  }

  /** A session moved here from a dead node: re-sends, from history, what was published since that node last saw it. */
  async resume(session: Session<User>, channels: readonly string[], sinceMs: number): Promise<void> {
    for (const channel of channels) {
      try {
        this.finish(session, channel, await this.since(channel, sinceMs));
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
    const [current, top, base] = await this.engine.redis().hmget(this.engine.key('history-meta', channel), 'epoch', 'top', 'base');
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
  keep(id: string, channel: string, json: string): boolean {
    const held = this.held.get(id)?.get(channel);
    if (held === undefined) return false;
    held.push(json);
    return true;
  }

  /** Delivers the replayed messages, then the held live ones the read did not have, and stops holding. */
  finish(session: Session<User>, channel: string, kept: readonly Kept[]): void {
    const held = this.release(session.id, channel);
    let last = -1;
    for (const entry of kept) {
      this.engine.deliver(session, entry.json);
      last = entry.offset;
    }
    for (const json of held) if (offsetOf(json) > last) this.engine.deliver(session, json);
  }

  /** Stops holding; the held messages are delivered when `deliver` is true (the subscription stays). */
  abort(session: Session<User>, channel: string, deliver: boolean): void {
    const held = this.release(session.id, channel);
    if (deliver) for (const json of held) this.engine.deliver(session, json);
  }

  private release(id: string, channel: string): string[] {
    const byChannel = this.held.get(id);
    const held = byChannel?.get(channel) ?? [];
    byChannel?.delete(channel);
    if (byChannel?.size === 0) this.held.delete(id);
    return held;
  }

  /** XRANGE from `start` in pages, keeping entries not older than `since` (ms). */
  private async range(channel: string, start: string, since: number): Promise<Kept[]> {
    const redis = this.engine.redis();
    const key = this.engine.key('history', channel);
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

/** The offset stamped in a live message (held messages only: a parse per message while a replay runs). */
function offsetOf(json: string): number {
  const message = JSON.parse(json) as { ext?: { position?: { offset?: unknown } } };
  const offset = message.ext?.position?.offset;
  return typeof offset === 'number' ? offset : Number.POSITIVE_INFINITY;
}
