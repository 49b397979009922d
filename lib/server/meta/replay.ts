/**
 * Reading `ext.replay` of a /meta/subscribe (Salesforce's replay convention):
 * `{ "<channel>": -1 | -2 | <offset> | { offset, epoch } }`. -1 asks for new
 * messages only, -2 for everything kept, an offset for everything after it.
 * Keys naming channels outside the request are ignored: replay clients such
 * as jsforce's add their one channel's entry to every subscribe.
 */
import { type HistoryConfig, keepsHistory, type ReplayFrom } from '../../engines/history/config.js';
import { isWildcard } from '../../protocol/channel.js';
import { bayeuxError } from '../../protocol/errors.js';
import type { Message } from '../../protocol/message.js';

/** Where each channel starts, or the Bayeux error that refuses the whole request. */
export type ReplayRequest = { replay: Map<string, ReplayFrom> | undefined; error?: undefined } | { error: string };

function isOffset(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function startOf(value: unknown): ReplayFrom | undefined {
  if (value === -1) return { kind: 'new' };
  if (value === -2) return { kind: 'all' };
  if (isOffset(value)) return { kind: 'after', offset: value, epoch: undefined };
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const { offset, epoch } = value as Record<string, unknown>;
    if (isOffset(offset) && typeof epoch === 'string' && epoch.length > 0) return { kind: 'after', offset, epoch };
  }
  return undefined;
}

export function replayRequest(message: Message, channels: readonly string[], history: HistoryConfig | undefined): ReplayRequest {
  const asked = message.ext?.replay;
  if (asked === undefined) return { replay: undefined };
  if (typeof asked !== 'object' || asked === null || Array.isArray(asked)) return { error: bayeuxError('invalidParameter', 'ext.replay') };
  const map = asked as Record<string, unknown>;
  let replay: Map<string, ReplayFrom> | undefined;
  for (const channel of channels) {
    if (!Object.hasOwn(map, channel)) continue;
    const from = startOf(map[channel]);
    if (from === undefined)
      return { error: bayeuxError('invalidParameter', channel, 'ext.replay must be -1, -2, an offset or { offset, epoch }') };
    if (from.kind === 'new') continue;
    if (isWildcard(channel) || !keepsHistory(history, channel)) return { error: bayeuxError('noHistory', channel) };
    replay ??= new Map();
    replay.set(channel, from);
  }
  return { replay };
}
