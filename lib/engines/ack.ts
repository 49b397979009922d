/**
 * Acknowledged delivery (CometD's ack extension) for one session: what was
 * sent in connect replies stays here until the client acknowledges its batch
 * on a later /meta/connect, and is sent again, in order, if it never is.
 */
export class AckState {
  /** Number of the last batch sent. */
  batch: number;
  /** Messages sent and not acknowledged yet, oldest first. */
  unacked: string[];

  constructor(batch = 0, unacked: string[] = []) {
    this.batch = batch;
    this.unacked = unacked;
  }

  /** The client received every batch up to `batch`. */
  acknowledge(batch: number): void {
    if (batch >= this.batch) this.unacked = [];
  }

  /** Messages for the next connect reply: the unacknowledged ones again, then `fresh`. Returns the batch number. */
  next(fresh: string[]): { messages: string[]; batch: number } {
    // Always a new array: `fresh` may be the session's live (empty) queue.
    const messages = this.unacked.concat(fresh);
    this.unacked = messages;
    this.batch += 1;
    return { messages, batch: this.batch };
  }
}
