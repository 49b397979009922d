/**
 * On a Redis Cluster: the last number this node received on each pattern's
 * pub/sub channel. A pattern's messages are numbered in its slot
 * (scripts.ts `SEQUENCED_FUNCTION`) and reach a node in that order (one
 * shard, one subscriber connection), so "this node has received everything
 * up to n" is `last >= n`: what a node handing a session over waits for
 * (ownership.ts).
 */
interface Waiter {
  seq: number;
  done: () => void;
}

export class Sequences {
  private readonly last = new Map<string, number>();
  private readonly waiters = new Map<string, Waiter[]>();

  /** A message numbered `seq` came on `pattern`'s channel. */
  seen(pattern: string, seq: number): void {
    this.last.set(pattern, seq);
    const waiting = this.waiters.get(pattern);
    if (waiting === undefined) return;
    const still = waiting.filter((w) => w.seq > seq);
    for (const waiter of waiting) if (waiter.seq <= seq) waiter.done();
    if (still.length === 0) this.waiters.delete(pattern);
    else this.waiters.set(pattern, still);
  }

  /** The last number received on `pattern` (undefined before any). */
  lastOf(pattern: string): number | undefined {
    return this.last.get(pattern);
  }

  /** This node no longer receives `pattern`: what it saw of it no longer says anything. */
  forget(pattern: string): void {
    this.last.delete(pattern);
    const waiting = this.waiters.get(pattern);
    this.waiters.delete(pattern);
    for (const waiter of waiting ?? []) waiter.done();
  }

  /** Resolves true once a message numbered `seq` or later came on `pattern`, false when `timeout` ms pass first. */
  async reached(pattern: string, seq: number, timeout: number): Promise<boolean> {
    if ((this.last.get(pattern) ?? Number.NEGATIVE_INFINITY) >= seq) return true;
    let done: () => void = () => undefined;
    const came = new Promise<true>((resolve) => {
      done = () => resolve(true);
    });
    const waiter = { seq, done };
    const list = this.waiters.get(pattern);
    if (list === undefined) this.waiters.set(pattern, [waiter]);
    else list.push(waiter);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeout).unref();
    });
    const result = await Promise.race([came, late]);
    clearTimeout(timer);
    if (!result) {
      const left = this.waiters.get(pattern)?.filter((w) => w !== waiter) ?? [];
      if (left.length === 0) this.waiters.delete(pattern);
      else this.waiters.set(pattern, left);
    }
    return result;
  }
}
