/**
 * Which request paths are the Bayeux endpoint: its root and the sub-paths
 * CometD appends to it (`/cometd/connect`, ...). One rule for HTTP requests,
 * lane polls and WebSocket upgrades alike.
 */

/** Paths under the endpoint's base that are the endpoint. */
const ENDPOINT_SUFFIXES: ReadonlySet<string> = new Set(['', '/', '/handshake', '/connect', '/disconnect', '/subscribe', '/unsubscribe']);

/** The path of a request URL, without its query. */
export function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** True when the path of `url` is `base` or one of the endpoint's sub-paths under it (`base` '' for a mounted router). */
export function atEndpoint(url: string | undefined, base = ''): boolean {
  const path = pathOf(url);
  return path.startsWith(base) && ENDPOINT_SUFFIXES.has(path.slice(base.length));
}
