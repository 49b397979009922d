/**
 * History in process memory: a bounded ring per channel. Its epoch is drawn
 * when the engine is created, so a restart (which loses everything) changes it.
 */
import { randomBytes } from 'node:crypto';
import { BEFORE_ANY, epochBase, type HistoryConfig, type ReplayFrom, ReplayRefusedError } from './config.js';
import { fill, type Position, type PositionTemplate } from './position.js';

/** A kept message. */
export interface Kept {
  offset: number;
  json: string;
}

interface Entry extends Kept {
  time: number;
}

/** One channel's kept messages, oldest first, in a ring of `size` slots. */
class ChannelLog {
  top: number;
  /** The offset of the log's first message ever: what was kept from it on is complete. */
  readonly first: number;
  private readonly ring: (Entry | undefined)[];
  private start = 0;
  private count = 0;

  constructor(
    base: number,
    private readonly size: number,
  ) {
    this.top = base;
    this.first = base + 1;
    this.ring = new Array<Entry | undefined>(size);
  }

  append(entry: Entry): void {
    this.ring[(this.start + this.count) % this.size] = entry;
    if (this.count < this.size) this.count++;
    else this.start = (this.start + 1) % this.size;
    this.top = entry.offset;
  }

  /** Entries not older than `since`, oldest first. */
  kept(since: number): Entry[] {
    const out: Entry[] = [];
    for (let i = 0; i < this.count; i++) {
      const entry = this.ring[(this.start + i) % this.size] as Entry;
      if (entry.time >= since) out.push(entry);
    }
    return out;
  }

  newest(): Entry | undefined {
    return this.count === 0 ? undefined : this.ring[(this.start + this.count - 1) % this.size];
  }
}

export class MemoryHistory {
  readonly epoch = randomBytes(6).toString('base64url');
  private readonly logs = new Map<string, ChannelLog>();

  constructor(private readonly config: HistoryConfig) {}

  /** Keeps a message; returns its position and its JSON with the position filled in. */
  append(channel: string, template: PositionTemplate, now: number): { position: Position; json: string } {
    let log = this.logs.get(channel);
    if (log === undefined) {
      log = new ChannelLog(epochBase(now), this.config.size);
      this.logs.set(channel, log);
    }
    const position = { offset: log.top + 1, epoch: this.epoch };
    const json = fill(template, position);
    log.append({ offset: position.offset, time: now, json });
    return { position, json };
  }

  /** The position of the newest message, or `BEFORE_ANY` for a channel without one. */
  top(channel: string): Position {
    const log = this.logs.get(channel);
    return log === undefined ? { ...BEFORE_ANY } : { offset: log.top, epoch: this.epoch };
  }

  /** The messages to replay from `from`, oldest first; throws `ReplayRefusedError` when the position is gone. */
  read(channel: string, from: ReplayFrom, now: number): Kept[] {
    if (from.kind === 'new') {
      from.at = this.top(channel);
      return [];
    }
    const log = this.logs.get(channel);
    const since = now - this.config.ttl;
    if (from.kind === 'all') return log === undefined ? [] : log.kept(since);
    const { offset, epoch } = from;
    if (epoch === BEFORE_ANY.epoch && offset === BEFORE_ANY.offset) {
      // Subscribed before the channel had a message: everything is missed, if all of it is still kept.
      const kept = log?.kept(since) ?? [];
      if (kept.length > 0 && kept[0]?.offset !== log?.first) throw new ReplayRefusedError(channel, offset, 'evicted');
      return kept;
    }
    if (epoch !== undefined && epoch !== this.epoch) throw new ReplayRefusedError(channel, offset, 'epoch');
    if (log === undefined) throw new ReplayRefusedError(channel, offset, epoch === undefined ? 'unknown' : 'evicted');
    if (offset > log.top) throw new ReplayRefusedError(channel, offset, 'unknown');
    if (offset === log.top) return [];
    const kept = log.kept(since);
    const first = kept[0];
    if (first === undefined || first.offset > offset + 1) throw new ReplayRefusedError(channel, offset, 'evicted');
    return kept.filter((e) => e.offset > offset);
  }

  /** Forgets channels whose newest message passed its ttl, so idle channels cost nothing. */
  sweep(now: number): void {
    const since = now - this.config.ttl;
    for (const [channel, log] of this.logs) {
      const newest = log.newest();
      if (newest === undefined || newest.time < since) this.logs.delete(channel);
    }
  }
}
