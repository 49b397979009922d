/**
 * Where the client is in each history channel: the position of the last
 * message delivered, to resume from after a new handshake and to drop what a
 * server re-sends after a node death (at-least-once becomes once).
 */
import type { Message } from '../protocol/message.js';

/** A message's place in its channel's history (`ext.position` from the server). */
export interface ReplayPosition {
  offset: number;
  epoch: string;
}

/** What a subscribe may start from: -1 new messages only, -2 everything kept, or after a position. */
export type ReplayStart = -1 | -2 | ReplayPosition;

/** The `gap` event: the server no longer has what followed `offset` on `channel`; reload the state it carried. */
export interface GapEvent {
  channel: string;
  offset: number;
  /** `unknown` (never issued), `evicted` (past size or ttl) or `epoch` (the server lost that history). */
  reason: string;
}

function positionOf(message: Message): ReplayPosition | undefined {
  const position = message.ext?.position as Partial<ReplayPosition> | undefined;
  if (typeof position !== 'object' || position === null) return undefined;
  const { offset, epoch } = position;
  return typeof offset === 'number' && typeof epoch === 'string' ? { offset, epoch } : undefined;
}

/** The refusal a subscribe reply reports in `ext.replay`, if any. */
export function gapOf(reply: Message): GapEvent | undefined {
  const refusal = reply.ext?.replay as Partial<GapEvent> | undefined;
  if (typeof refusal !== 'object' || refusal === null) return undefined;
  const { channel, offset, reason } = refusal;
  if (typeof channel !== 'string' || typeof offset !== 'number' || typeof reason !== 'string') return undefined;
  return { channel, offset, reason };
}

export class Positions {
  private readonly last = new Map<string, ReplayPosition>();

  /** Records a delivery's position; false when it was delivered already (a re-send). */
  record(message: Message): boolean {
    const position = positionOf(message);
    if (position === undefined) return true;
    const known = this.last.get(message.channel);
    if (known !== undefined && known.epoch === position.epoch && position.offset <= known.offset) return false;
    this.last.set(message.channel, position);
    return true;
  }

  /** Takes the positions a subscribe reply reports (`ext.position`) for channels with none yet. */
  started(reply: Message): void {
    const reported = reply.ext?.position;
    if (typeof reported !== 'object' || reported === null) return;
    for (const [channel, value] of Object.entries(reported as Record<string, unknown>)) {
      const position = value as Partial<ReplayPosition> | null;
      if (this.last.has(channel) || typeof position?.offset !== 'number' || typeof position.epoch !== 'string') continue;
      this.last.set(channel, { offset: position.offset, epoch: position.epoch });
    }
  }

  /** The position to resume `channel` from, if a message of it was delivered. */
  of(channel: string): ReplayPosition | undefined {
    return this.last.get(channel);
  }

  forget(channel: string): void {
    this.last.delete(channel);
  }
}
