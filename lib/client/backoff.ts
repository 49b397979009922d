/** Exponential backoff with a cap, for retries after network failures. */
export class Backoff {
  private attempts = 0;

  constructor(
    private readonly initial: number,
    private readonly max: number,
  ) {}

  /** The delay before the next attempt; each call doubles it up to the cap. */
  next(): number {
    const delay = Math.min(this.max, this.initial * 2 ** this.attempts);
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
