/**
 * Exponential backoff with a cap and full jitter, for retries after network
 * failures: the n-th delay is drawn uniformly from [0, min(max, initial x 2^n)],
 * so thousands of clients that lost the same node come back spread out, not
 * in step (the AWS "full jitter" scheme).
 */
export class Backoff {
  private attempts = 0;

  constructor(
    private readonly initial: number,
    private readonly max: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The ceiling of the next delay: doubles with each failure up to the cap. */
  get ceiling(): number {
    return Math.min(this.max, this.initial * 2 ** this.attempts);
  }

  /** The delay before the next attempt (jittered under the ceiling), counting one more failure. */
  next(): number {
    const delay = Math.round(this.random() * this.ceiling);
    this.attempts = Math.min(this.attempts + 1, 30);
    return delay;
  }

  /** Failures since the last success. */
  get failures(): number {
    return this.attempts;
  }

  reset(): void {
    this.attempts = 0;
  }
}
