/**
 * On a Redis Cluster: sessions holding two patterns that match one channel
 * (`/room/1` and `/room/*`, or `/room/*` and `/room/**`). Each pattern's
 * copies of a broadcast come from its own shard (node.ts `spread`), in no
 * order between shards, so which copy a session takes cannot be decided by
 * position in a common stream, as on one Redis, where all copies of a publish
 * come one after the other. Such a session takes the first copy of each
 * broadcast that comes on any of its patterns and remembers the broadcast's
 * id, so the other copies find it taken. Per publisher, order holds: each
 * shard's copies come in the order of the publishes, so the first copies come
 * in that order too.
 *
 * How long ids are remembered (only those of channels that two of the
 * session's patterns match): a publisher sends all copies of a broadcast at
 * once (one round trip later for a history channel's wildcard copies), each a
 * command bounded by the command timeout, so twins reach a node well within
 * `window`, twice that timeout, unless they were not both published in time,
 * and the publisher was told its publish failed.
 *
 * The moments a session's patterns change:
 * - A pattern subscribed while the session holds an older pattern matching
 *   some of the same channels was not remembering what the older one
 *   delivered before: a copy of those on the new pattern would come twice.
 *   For `window` it settles: on channels the older one also matches, only the
 *   older one delivers (and is remembered), then both do, first copy first.
 * - A pattern unsubscribed while a newer one matching some of its channels is
 *   still settling was the only source there: the copies the newer one
 *   ignored may still come on it. It retires instead: it goes on delivering,
 *   on the channels the session still wants, until `window` after the newer
 *   one settled, and the node keeps receiving it until then.
 * - A session moving to another node takes the ids it remembers and what is
 *   settling with it (ownership.ts `Handover`): the new owner goes on where the
 *   old one stopped, next to the cut by numbers that decides which node
 *   delivers which copy.
 *
 * A session without two such patterns has no state here and costs nothing.
 * The node's local subscribers (`server.subscribe`) are one more holder of
 * patterns: the patterns they watch (index.ts `watcher`).
 */
import { expand, isWildcard, matches } from '../../protocol/channel.js';

/** Who holds patterns: a session, or the node's local subscribers (`server.subscribe`) as one. */
export interface PatternHolder {
  readonly id: string;
  readonly channels: ReadonlySet<string>;
}

/** What a moving session's overlap state brings to its new owner. */
export interface OverlapHandover {
  /** Ids of the broadcasts it was given lately. */
  seen: string[];
  /** Patterns still settling, with the milliseconds left. */
  settling: [string, number][];
}

/** What the state needs of the node's interest: a retiring pattern keeps being received. */
interface Receiving {
  add(pattern: string): void;
  remove(pattern: string): void;
}

/** One session's state: what it was given lately, and its patterns changing. */
class Overlap {
  private recent = new Set<string>();
  private older = new Set<string>();
  private rotated: number;
  /** Pattern to when it starts delivering on the channels an older pattern matches. */
  readonly settling = new Map<string, number>();
  /** Unsubscribed pattern to when it stops delivering. */
  readonly retiring = new Map<string, number>();
  /** Since when the session has held no overlapping patterns (the state goes `window` after). */
  quietSince: number | undefined = undefined;

  constructor(
    private readonly window: number,
    now: number,
  ) {
    this.rotated = now;
  }

  /** Remembers an id for `window` at least (two generations, each up to `window` old). */
  remember(id: string, now: number): void {
    if (now - this.rotated >= this.window) {
      this.older = this.recent;
      this.recent = new Set();
      this.rotated = now;
    }
    this.recent.add(id);
  }

  has(id: string): boolean {
    return this.recent.has(id) || this.older.has(id);
  }

  seen(): string[] {
    return [...this.older, ...this.recent];
  }

  /** True when `pattern` delivers to the session now: held and settled, or retiring. */
  delivers(session: PatternHolder, pattern: string, now: number): boolean {
    if (session.channels.has(pattern)) return !((this.settling.get(pattern) ?? 0) > now);
    return (this.retiring.get(pattern) ?? 0) > now;
  }
}

/** A segment no channel name can hold (channel.ts), standing for any segment. */
const ANY = '\u0000';

/** The most general channel a pattern matches, as a concrete name. */
function example(pattern: string): string {
  if (pattern.endsWith('/**')) return `${pattern.slice(0, -2)}${ANY}`;
  if (pattern.endsWith('/*')) return `${pattern.slice(0, -1)}${ANY}`;
  return pattern;
}

/** True when some channel matches both patterns (a wildcard is only ever the last segment). */
export function overlap(a: string, b: string): boolean {
  return a !== b && (matches(a, example(b)) || matches(b, example(a)));
}

export class Overlaps<H extends PatternHolder> {
  private readonly states = new Map<string, Overlap>();
  /** Retiring pattern to the sessions it still delivers to. */
  private readonly retiringBy = new Map<string, Map<string, H>>();

  constructor(
    /** How long twins of one broadcast may come apart (see the top). */
    readonly window: number,
    private readonly interest: Receiving,
  ) {}

  /** Sessions with overlapping patterns on this node (for tests). */
  get size(): number {
    return this.states.size;
  }

  /**
   * Whether a copy that came on `pattern` (held by the session, or retiring)
   * is the session's to take; remembers the broadcast when it is and a twin
   * can come on another of its patterns.
   */
  admits(session: H, pattern: string, channel: string, id: string, now = Date.now()): boolean {
    if (this.states.size === 0) return true;
    const state = this.states.get(session.id);
    if (state === undefined) return true;
    const held = session.channels.has(pattern);
    // Retiring: only for the channels the session still wants through another pattern.
    if (!held && !state.delivers(session, pattern, now)) return false;
    const settling = held && (state.settling.get(pattern) ?? 0) > now;
    let others = 0;
    let wanted = held;
    for (const q of expand(channel)) {
      if (q === pattern || !(session.channels.has(q) || state.retiring.has(q))) continue;
      others++;
      if (session.channels.has(q)) wanted = true;
      if (settling && state.delivers(session, q, now)) return false;
    }
    if (!wanted) return false;
    // The channel's one pattern here: no twin comes on another (a pattern subscribed later settles first).
    if (others === 0) return true;
    if (state.has(id)) return false;
    state.remember(id, now);
    return true;
  }

  /** True when `holder` takes copies of `pattern`: it holds it, or it retires. */
  takes(holder: H, pattern: string): boolean {
    return holder.channels.has(pattern) || this.retiringBy.get(pattern)?.has(holder.id) === true;
  }

  /** The sessions a retiring pattern still delivers to. */
  retiringOf(pattern: string): Iterable<H> {
    return this.retiringBy.get(pattern)?.values() ?? [];
  }

  /** After `added` were subscribed: a pattern overlapping one held before settles (see the top). */
  joined(session: H, added: readonly string[], now = Date.now()): void {
    for (const pattern of added) {
      const others = this.overlapping(session, pattern);
      if (others.length === 0) continue;
      const state = this.stateOf(session.id, now);
      state.quietSince = undefined;
      if (others.some((q) => !added.includes(q))) state.settling.set(pattern, now + this.window);
    }
  }

  /** Before `removed` are unsubscribed: a pattern that was the only source where a newer one settles retires. */
  leaving(session: H, removed: readonly string[], now = Date.now()): void {
    const state = this.states.get(session.id);
    if (state === undefined) return;
    for (const pattern of removed) {
      if (!session.channels.has(pattern)) continue;
      const settled = state.settling.get(pattern);
      state.settling.delete(pattern);
      // Never a source on the channels it shares: nothing of those can be missing.
      if (settled !== undefined && settled > now) continue;
      let until = 0;
      for (const [q, at] of state.settling) {
        if (at > now && !removed.includes(q) && overlap(pattern, q)) until = Math.max(until, at + this.window);
      }
      if (until > 0) this.retire(session, state, pattern, until);
    }
  }

  /** A session moved here: goes on with what its old owner remembered. */
  arrived(session: H, handover: OverlapHandover | undefined, now = Date.now()): void {
    if (handover === undefined && !this.hasPairs(session)) return;
    const state = this.stateOf(session.id, now);
    for (const id of handover?.seen ?? []) state.remember(id, now);
    for (const [pattern, left] of handover?.settling ?? []) {
      if (session.channels.has(pattern)) state.settling.set(pattern, now + left);
    }
  }

  /** The session leaves this node: what its new owner needs, and the state is dropped. */
  handover(session: H, now = Date.now()): OverlapHandover | undefined {
    const state = this.states.get(session.id);
    if (state === undefined) return undefined;
    this.drop(session.id, state);
    const settling: [string, number][] = [];
    for (const [pattern, at] of state.settling) if (at > now) settling.push([pattern, at - now]);
    return { seen: state.seen(), settling };
  }

  /** Housekeeping: ends what settled or retired, and the state of sessions gone or quiet for `window`. */
  sweep(owned: (id: string) => H | undefined, now = Date.now()): void {
    for (const [id, state] of this.states) {
      const session = owned(id);
      if (session === undefined) {
        this.drop(id, state);
        continue;
      }
      for (const [pattern, at] of state.settling) if (at <= now) state.settling.delete(pattern);
      for (const [pattern, at] of state.retiring) if (at <= now) this.unretire(id, state, pattern);
      if (state.settling.size > 0 || state.retiring.size > 0 || this.hasPairs(session)) state.quietSince = undefined;
      else if (state.quietSince === undefined) state.quietSince = now;
      else if (now - state.quietSince >= this.window) this.drop(id, state);
    }
  }

  private stateOf(id: string, now: number): Overlap {
    let state = this.states.get(id);
    if (state === undefined) {
      state = new Overlap(this.window, now);
      this.states.set(id, state);
    }
    return state;
  }

  /** The session's other patterns that share a channel with `pattern`. */
  private overlapping(session: H, pattern: string): string[] {
    const found: string[] = [];
    if (!isWildcard(pattern)) {
      // Two concrete channels never overlap: only the wildcards matching it can.
      for (const q of expand(pattern)) if (q !== pattern && session.channels.has(q)) found.push(q);
      return found;
    }
    for (const q of session.channels) if (overlap(pattern, q)) found.push(q);
    return found;
  }

  private hasPairs(session: H): boolean {
    for (const pattern of session.channels) if (isWildcard(pattern) && this.overlapping(session, pattern).length > 0) return true;
    return false;
  }

  private retire(session: H, state: Overlap, pattern: string, until: number): void {
    if (!state.retiring.has(pattern)) {
      this.interest.add(pattern);
      let sessions = this.retiringBy.get(pattern);
      if (sessions === undefined) {
        sessions = new Map();
        this.retiringBy.set(pattern, sessions);
      }
      sessions.set(session.id, session);
    }
    state.retiring.set(pattern, until);
  }

  private unretire(id: string, state: Overlap, pattern: string): void {
    state.retiring.delete(pattern);
    const sessions = this.retiringBy.get(pattern);
    if (sessions?.delete(id) === true && sessions.size === 0) this.retiringBy.delete(pattern);
    this.interest.remove(pattern);
  }

  private drop(id: string, state: Overlap): void {
    for (const pattern of [...state.retiring.keys()]) this.unretire(id, state, pattern);
    this.states.delete(id);
  }
}
