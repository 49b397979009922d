/**
 * Where one session stands on the history channels it receives, by offset:
 * what it was given (a message at or below that is a second copy and is not
 * queued), what was written to the client, and what the client confirmed by
 * coming back for more. A long-polling or WebSocket client's next
 * `/meta/connect` is sent only after it read the previous connect reply, and
 * everything written before that reply travelled ahead of it; with the ack
 * extension the acknowledged batch says it. So the positions written before
 * one connect reply are confirmed by the next connect (or by the ack of that
 * reply's batch), and a node that takes the session over after its node died
 * resumes exactly after them. What was written but not confirmed yet (the
 * reply in flight when a node died) is re-sent: never lost, at worst twice.
 *
 * Only sessions that receive history messages have one; the maps are small
 * (one entry per history channel of the session).
 */

const NONE: ReadonlyMap<string, number> = new Map();

/** What a node hands the next one when a session moves (JSON-safe). */
export interface DeliveredState {
  given: [string, number][];
  sent: [string, number][];
  replied: [string, number][];
  repliedBatch: number;
  confirmed: [string, number][];
}

export class DeliveredPositions {
  /** Highest offset queued per channel. */
  private readonly given = new Map<string, number>();
  /** `given` as it stood when the queue was last taken for writing (the queue was empty after). */
  private sent: ReadonlyMap<string, number> = NONE;
  /** `sent` as it stood when the last connect reply was written, and that reply's ack batch. */
  private replied: ReadonlyMap<string, number> = NONE;
  private repliedBatch = 0;
  /** What the client is known to have received (or, for a fresh subscription, where it started). */
  private readonly confirmed = new Map<string, number>();

  /** True when the message at `offset` of `channel` is new for this session (and counts it as given). */
  admit(channel: string, offset: number): boolean {
    const top = this.given.get(channel);
    if (top !== undefined && offset <= top) return false;
    this.given.set(channel, offset);
    return true;
  }

  /** The queue was taken for writing: everything given so far is now sent. */
  taken(): void {
    if (this.given.size > 0) this.sent = new Map(this.given);
  }

  /** A connect reply is being written (with the ack extension, as batch `batch`). */
  replying(batch: number): void {
    this.replied = this.sent;
    this.repliedBatch = batch;
  }

  /**
   * A connect arrived (with the ack extension, acknowledging `acked`): the
   * positions it newly confirms, or undefined when none. Nothing changes
   * until `record` is called with them, once they are kept.
   */
  confirmable(acked: number | undefined): Map<string, number> | undefined {
    if (acked !== undefined && acked < this.repliedBatch) return undefined;
    let fresh: Map<string, number> | undefined;
    for (const [channel, offset] of this.replied) {
      if ((this.confirmed.get(channel) ?? -1) >= offset) continue;
      fresh ??= new Map();
      fresh.set(channel, offset);
    }
    return fresh;
  }

  /** Positions the client confirmed (or a subscription's starting point), now kept. */
  record(positions: ReadonlyMap<string, number>): void {
    for (const [channel, offset] of positions) {
      if ((this.confirmed.get(channel) ?? -1) < offset) this.confirmed.set(channel, offset);
      // A later copy of an earlier message is still a copy.
      if ((this.given.get(channel) ?? -1) < offset) this.given.set(channel, offset);
    }
  }

  /**
   * A replay of `channel` after `offset` starts: the client says it holds
   * everything up to `offset` and nothing after, so what follows may be given
   * again. True when some of it had been given (the caller drops those copies).
   */
  rewind(channel: string, offset: number): boolean {
    const given = this.given.get(channel) ?? -1;
    this.given.set(channel, offset);
    this.confirmed.set(channel, offset);
    return given > offset;
  }

  /** The session left `channel`: a later subscription starts afresh. */
  forget(channel: string): void {
    this.given.delete(channel);
    this.confirmed.delete(channel);
  }

  /** For the node a session moves to. */
  state(): DeliveredState {
    return {
      given: [...this.given],
      sent: [...this.sent],
      replied: [...this.replied],
      repliedBatch: this.repliedBatch,
      confirmed: [...this.confirmed],
    };
  }

  /** Goes on from the state of the node the session moved from (what arrived here meanwhile is kept too). */
  restore(state: DeliveredState): void {
    for (const [channel, offset] of state.given) if ((this.given.get(channel) ?? -1) < offset) this.given.set(channel, offset);
    this.sent = new Map(state.sent);
    this.replied = new Map(state.replied);
    this.repliedBatch = state.repliedBatch;
    for (const [channel, offset] of state.confirmed) this.confirmed.set(channel, offset);
  }
}
