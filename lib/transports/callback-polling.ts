/**
 * `callback-polling` (JSONP): messages in the `message` query parameter of a
 * GET, replies wrapped in a call to the function named by `jsonp`.
 */
import type { IncomingMessage } from 'node:http';
import createError from 'http-errors';
import type { Framing } from './polling.js';
import { jsonArray } from './respond.js';

/** Callback names a page may ask for: a JavaScript identifier path, nothing that could end the call. */
const CALLBACK = /^[A-Za-z_$][\w$]{0,127}(\.[A-Za-z_$][\w$]{0,127}){0,7}$/;

/** Default callback name when a request gives none (Faye's and CometD's). */
const DEFAULT_CALLBACK = 'jsonpcallback';

/** Line and paragraph separators are legal in JSON but not in older JavaScript string literals. */
const SEPARATORS = /[\u2028\u2029]/g;

function escapeSeparators(text: string): string {
  return text.replace(SEPARATORS, (c) => (c === '\u2028' ? '\\u2028' : '\\u2029'));
}

/** Reads the request: its callback name and the decoded `message` parameter(s). */
export function readJsonp(req: IncomingMessage): { framing: Framing; value: unknown } {
  const params = new URL(req.url ?? '/', 'http://localhost').searchParams;
  const callback = params.get('jsonp') ?? DEFAULT_CALLBACK;
  if (!CALLBACK.test(callback)) {
    throw createError(400, 'the "jsonp" parameter must be a JavaScript identifier (dots allowed)', { type: 'bayeux.jsonp.callback' });
  }
  const raw = params.getAll('message');
  if (raw.length === 0) {
    throw createError(400, 'a callback-polling GET needs a "message" parameter', { type: 'bayeux.messages.missing' });
  }
  const decoded = raw.map((text) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw createError(400, 'the "message" parameter is not valid JSON', { type: 'entity.parse.failed' });
    }
  });
  const value = decoded.length === 1 ? decoded[0] : decoded.flat();
  // The `/**/` prefix defuses content-sniffing attacks that start the body with attacker bytes.
  const framing: Framing = {
    transport: 'callback-polling',
    contentType: 'text/javascript; charset=utf-8',
    body: (parts) => `/**/${callback}(${escapeSeparators(jsonArray(parts))});`,
  };
  return { framing, value };
}
