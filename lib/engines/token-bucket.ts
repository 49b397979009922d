/**
 * Token buckets for rate limits, kept in this process (the memory engine's
 * store). A bucket holds up to `burst` tokens and refills `rate` per second;
 * one message costs one token. The Redis engine runs the same arithmetic in
 * a script so a bucket is shared by every node.
 */

/** One bucket to take from: its key and its refill rule. */
export interface RateBucket {
  /** What the bucket limits, e.g. `ip:10.0.0.1` or `session:<clientId>`. */
  key: string;
  /** Tokens added per second. */
  rate: number;
  /** Most tokens held (the largest burst allowed). */
  burst: number;
}

/** What a take granted: `granted` of the cost, from every bucket alike; `limitedBy` is the index of the bucket that ran short, or -1. */
export interface RateTake {
  granted: number;
  limitedBy: number;
}

interface State {
  tokens: number;
  at: number;
  rate: number;
  burst: number;
}

/** Tokens of a bucket at `now`, refilled since `at`. */
function refill(tokens: number, at: number, now: number, rate: number, burst: number): number {
  return Math.min(burst, tokens + (Math.max(0, now - at) * rate) / 1000);
}

export class TokenBuckets {
  private readonly buckets = new Map<string, State>();

  /** Takes up to `cost` tokens from all `buckets` at once: the same number from each, as many as the emptiest allows. */
  take(buckets: readonly RateBucket[], cost: number, now: number): RateTake {
    let granted = cost;
    let limitedBy = -1;
    const levels: number[] = [];
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i] as RateBucket;
      const state = this.buckets.get(b.key);
      const level = state === undefined ? b.burst : refill(state.tokens, state.at, now, b.rate, b.burst);
      levels.push(level);
      if (Math.floor(level) < granted) {
        granted = Math.max(0, Math.floor(level));
        limitedBy = i;
      }
    }
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i] as RateBucket;
      this.buckets.set(b.key, { tokens: (levels[i] as number) - granted, at: now, rate: b.rate, burst: b.burst });
    }
    return { granted, limitedBy };
  }

  /** Forgets buckets that are full again: they hold nothing a fresh bucket would not. */
  sweep(now: number): void {
    for (const [key, s] of this.buckets) {
      if (refill(s.tokens, s.at, now, s.rate, s.burst) >= s.burst) this.buckets.delete(key);
    }
  }

  /** Buckets currently held (for tests and stats). */
  get size(): number {
    return this.buckets.size;
  }
}
