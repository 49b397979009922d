import { expand } from './channel.js';

/**
 * Subscribers by subscription pattern. A concrete channel is routed by looking
 * up each pattern that could match it (see `expand`) and visiting the union of
 * their subscribers, each once.
 */
export class ChannelIndex<T> {
  private readonly byPattern = new Map<string, Set<T>>();

  /** Adds `item` under `pattern`; false when it was already there. */
  add(pattern: string, item: T): boolean {
    let set = this.byPattern.get(pattern);
    if (set === undefined) {
      set = new Set();
      this.byPattern.set(pattern, set);
    }
    if (set.has(item)) return false;
    set.add(item);
    return true;
  }

  /** Removes `item` from `pattern`; false when it was not there. */
  remove(pattern: string, item: T): boolean {
    const set = this.byPattern.get(pattern);
    if (set === undefined || !set.delete(item)) return false;
    if (set.size === 0) this.byPattern.delete(pattern);
    return true;
  }

  /** Subscribers of exactly this pattern (no wildcard matching). */
  subscribers(pattern: string): ReadonlySet<T> | undefined {
    return this.byPattern.get(pattern);
  }

  /** Number of (pattern, subscriber) pairs: O(patterns), for stats, not for the message path. */
  count(): number {
    let total = 0;
    for (const set of this.byPattern.values()) total += set.size;
    return total;
  }

  /** Number of patterns with at least one subscriber. */
  get size(): number {
    return this.byPattern.size;
  }

  /**
   * Calls `visit(item, arg)` once for every subscriber whose pattern matches
   * the concrete `channel`. `arg` spares callers a closure per message.
   */
  match<A>(channel: string, visit: (item: T, arg: A) => void, arg: A): void {
    const patterns = expand(channel);
    let only: Set<T> | undefined;
    let several: Set<T>[] | undefined;
    for (const pattern of patterns) {
      const set = this.byPattern.get(pattern);
      if (set === undefined) continue;
      if (only === undefined) {
        only = set;
      } else {
        several ??= [only];
        several.push(set);
      }
    }
    if (only === undefined) return;
    if (several === undefined) {
      // The common case: one pattern matches, nothing to de-duplicate.
      for (const item of only) visit(item, arg);
      return;
    }
    const seen = new Set<T>();
    for (const set of several) {
      for (const item of set) {
        if (seen.has(item)) continue;
        seen.add(item);
        visit(item, arg);
      }
    }
  }
}
