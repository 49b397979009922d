/** The `history` option. */
import type { HistoryConfig } from '../../engines/history/config.js';
import { isMeta, isService, isValidChannel } from '../../protocol/channel.js';
import { isPlainObject } from '../../protocol/message.js';
import { fail, integer } from './check.js';
import { HISTORY_DEFAULTS } from './defaults.js';

export function resolveHistory(value: unknown): HistoryConfig | undefined {
  if (value === undefined || value === false) return undefined;
  if (!isPlainObject(value)) fail('history', 'false or { channels, size?, ttl?, salesforce? }', value);
  const o = value;
  for (const name of Object.keys(o)) {
    if (!['channels', 'size', 'ttl', 'salesforce'].includes(name)) throw new TypeError(`bayeux(): unknown option "history.${name}"`);
  }
  const channels = o.channels;
  if (!Array.isArray(channels) || channels.length === 0) fail('history.channels', 'a non-empty array of channel patterns', channels);
  for (const channel of channels as unknown[]) {
    if (!isValidChannel(channel) || isMeta(channel) || isService(channel)) {
      fail('history.channels', 'broadcast channel patterns such as "/chat/*" (not /meta or /service)', channel);
    }
  }
  const ttl = integer(o, 'ttl', HISTORY_DEFAULTS.ttl, 1, 'history.');
  // A ttl under a second is almost surely seconds given for milliseconds.
  if (ttl < 1000) fail('history.ttl', 'milliseconds (>= 1000; e.g. 60000 for a minute, not 60)', ttl);
  const salesforce = o.salesforce ?? HISTORY_DEFAULTS.salesforce;
  if (typeof salesforce !== 'boolean') fail('history.salesforce', 'a boolean', salesforce);
  return {
    channels: [...(channels as string[])],
    size: integer(o, 'size', HISTORY_DEFAULTS.size, 1, 'history.'),
    ttl,
    salesforce,
  };
}
