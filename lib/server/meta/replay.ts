/**
 * Reading `ext.replay` of a /meta/subscribe (Salesforce's replay convention):
 * `{ "<channel>": -1 | -2 | <offset> | { offset, epoch } }`. -1 asks for new
 * messages only, -2 for everything kept, an offset for everything after it.
 * Keys naming channels outside the request are ignored: replay clients such
 * as jsforce's add their one channel's entry to every subscribe.
 */
import { type HistoryConfig, keepsHistory, type ReplayFrom } from '../../engines/history/config.js';
import type { Position } from '../../engines/history/position.js';
import { isWildcard } from '../../protocol/channel.js';
import { bayeuxError } from '../../protocol/errors.js';
import { isPlainObject, type Message } from '../../protocol/message.js';

/** Where each channel starts, or the Bayeux error that refuses the whole request. */
export type ReplayRequest = { replay: Map<string, ReplayFrom> | undefined; error?: undefined } | { error: string };

/** The positions live subscriptions start after, for the reply's `ext.position` (undefined when none). */
export function startPositions(replay: ReadonlyMap<string, ReplayFrom> | undefined): Record<string, Position> | undefined {
  let positions: Record<string, Position> | undefined;
  if (replay !== undefined) {
    for (const [channel, from] of replay) {
      if (from.kind === 'new' && from.at !== undefined) {
        positions ??= {};
        positions[channel] = from.at;
      }
    }
  }
  return positions;
}

function isOffset(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function startOf(value: unknown): ReplayFrom | undefined {
  if (value === -1) return { kind: 'new' };
  if (value === -2) return { kind: 'all' };
  if (isOffset(value)) return { kind: 'after', offset: value, epoch: undefined };
  if (isPlainObject(value)) {
    const { offset, epoch } = value;
    // Epoch '' with offset 0 is the position before a channel's first message.
    if (isOffset(offset) && typeof epoch === 'string' && (epoch.length > 0 || offset === 0)) return { kind: 'after', offset, epoch };
  }
  return undefined;
}

export function replayRequest(message: Message, channels: readonly string[], history: HistoryConfig | undefined): ReplayRequest {
  const asked = message.ext?.replay ?? {};
  if (!isPlainObject(asked)) return { error: bayeuxError('invalidParameter', 'ext.replay') };
  const map = asked;
  let replay: Map<string, ReplayFrom> | undefined;
  for (const channel of channels) {
    const kept = !isWildcard(channel) && keepsHistory(history, channel);
    const named = Object.hasOwn(map, channel);
    // Concrete history channels always get an entry: a live start still learns its position.
    const from = named ? startOf(map[channel]) : kept ? { kind: 'new' as const } : undefined;
    if (from === undefined) {
      if (!named) continue;
      return { error: bayeuxError('invalidParameter', channel, 'ext.replay must be -1, -2, an offset or { offset, epoch }') };
    }
    if (!kept) {
      if (from.kind === 'new') continue;
      return { error: bayeuxError('noHistory', channel) };
    }
    replay ??= new Map();
    replay.set(channel, from);
  }
  return { replay };
}
