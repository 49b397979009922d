/**
 * Channel names (Bayeux 1.0 §2.2): absolute, `/`-separated segments of
 * letters, digits and the marks `- _ ! ~ ( ) $ @`, plus `.` which CometD and
 * most applications use. The last segment of a pattern may be `*` (exactly
 * one segment) or `**` (one or more segments).
 */

const SEGMENT = /^[A-Za-z0-9\-_!~()$@.]+$/;

/** Longest channel name accepted; keeps expansion and keys bounded. */
const MAX_CHANNEL_LENGTH = 1024;

/** Kinds of channel, which decide how a message on them is handled. */
export type ChannelKind = 'meta' | 'service' | 'broadcast';

/** True for a concrete channel or a wildcard pattern that follows the grammar. */
export function isValidChannel(name: unknown): name is string {
  // "/" alone fails below: its one segment is empty.
  if (typeof name !== 'string' || name.length > MAX_CHANNEL_LENGTH || name[0] !== '/') {
    return false;
  }
  const segments = name.split('/');
  const last = segments.length - 1;
  for (let i = 1; i <= last; i++) {
    const segment = segments[i] as string;
    if (i === last && (segment === '*' || segment === '**')) return true;
    if (!SEGMENT.test(segment)) return false;
  }
  return true;
}

/** True when the name ends in a `*` or `**` segment. */
export function isWildcard(name: string): boolean {
  return name.endsWith('/*') || name.endsWith('/**');
}

/** `/meta/...`: protocol channels, never broadcast. */
export function isMeta(name: string): boolean {
  return name.startsWith('/meta/') || name === '/meta';
}

/** `/service/...`: request/response channels, never broadcast. */
export function isService(name: string): boolean {
  return name.startsWith('/service/') || name === '/service';
}

/** Which of the three kinds a valid channel name belongs to. */
export function channelKind(name: string): ChannelKind {
  if (isMeta(name)) return 'meta';
  if (isService(name)) return 'service';
  return 'broadcast';
}

/**
 * Every subscription pattern that matches the concrete channel `name`:
 * `/a/b/c` -> `/a/b/c`, `/a/b/*`, `/a/b/**`, `/a/**`, `/**`. Routing a
 * message is then a union of lookups whose count grows with channel depth,
 * not with the number of subscriptions.
 */
export function expand(name: string): string[] {
  const patterns = [name];
  let end = name.lastIndexOf('/');
  // The parent of the last segment takes both wildcards; every ancestor takes `**`.
  patterns.push(`${name.slice(0, end)}/*`, `${name.slice(0, end)}/**`);
  while (end > 0) {
    end = name.lastIndexOf('/', end - 1);
    patterns.push(`${name.slice(0, end)}/**`);
  }
  return patterns;
}

/** True when the subscription `pattern` (concrete or wildcard) matches the concrete `channel`. */
export function matches(pattern: string, channel: string): boolean {
  if (pattern === channel) return true;
  if (pattern.endsWith('/**')) {
    const prefix = pattern.slice(0, -2);
    return channel.length > prefix.length && channel.startsWith(prefix);
  }
  if (pattern.endsWith('/*')) {
    const prefix = pattern.slice(0, -1);
    return channel.length > prefix.length && channel.startsWith(prefix) && channel.indexOf('/', prefix.length) === -1;
  }
  return false;
}
