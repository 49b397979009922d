/**
 * Channel history as engines see it (decision 12): which channels keep their
 * messages, how many and for how long, and how a message shows its position.
 */
import { matches } from '../../protocol/channel.js';
import type { Position } from './position.js';

/** The resolved `history` option. */
export interface HistoryConfig {
  /** Channel patterns (wildcards as in subscriptions) whose messages are kept. */
  readonly channels: readonly string[];
  /** Messages kept per channel at most. */
  readonly size: number;
  /** Milliseconds a message is kept. */
  readonly ttl: number;
  /** Also put the offset in `data.event.replayId` (Salesforce's replay convention). */
  readonly salesforce: boolean;
}

/** True when messages published on the concrete `channel` are kept. */
export function keepsHistory(config: HistoryConfig | undefined, channel: string): boolean {
  if (config === undefined) return false;
  for (const pattern of config.channels) if (matches(pattern, channel)) return true;
  return false;
}

/**
 * Where a subscriber starts: new messages only, everything kept, or after a
 * position. For `new`, the engine sets `at` to the position the subscriber
 * starts after (offset 0 and epoch '' when the channel has had no message),
 * for the client to resume from later.
 */
export type ReplayFrom = { kind: 'new'; at?: Position } | { kind: 'all' } | { kind: 'after'; offset: number; epoch: string | undefined };

/** The position before a channel's first message: resuming from it replays everything, if nothing was evicted yet. */
export const BEFORE_ANY: Position = { offset: 0, epoch: '' };

/** Why a position cannot be honoured. */
export type RefusalReason = 'unknown' | 'evicted' | 'epoch';

/** Thrown by an engine's `subscribe` when a replay position cannot be honoured; nothing was subscribed. */
export class ReplayRefusedError extends Error {
  /** Stable machine-readable code. */
  readonly code = 'BAYEUX_REPLAY_REFUSED';

  constructor(
    /** The channel whose position was refused. */
    readonly channel: string,
    /** The refused offset. */
    readonly offset: number,
    readonly reason: RefusalReason,
  ) {
    const why =
      reason === 'unknown'
        ? 'was never issued on this channel'
        : reason === 'epoch'
          ? "belongs to another epoch (the channel's history was lost)"
          : 'is no longer kept (evicted by size or ttl)';
    super(`replay position ${offset} ${why}; subscribe with -2 for everything kept or -1 for new messages only`);
  }
}

/** The first offset of a new epoch: the clock in microseconds, so any earlier epoch's offsets lie below it. */
export function epochBase(nowMs: number): number {
  return nowMs * 1000;
}
