/**
 * Writing responses: Bayeux replies as a JSON array (or a JSONP call), and
 * HTTP-level failures as a JSON body rendered here, never by the host app's
 * error page.
 */
import type { ServerResponse } from 'node:http';
import type { HttpError } from 'http-errors';
import type { Advice } from '../protocol/message.js';

const NO_STORE = 'no-cache, no-store, must-revalidate';

/** Writes a complete response unless the peer is already gone. */
export function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  if (res.writableEnded || res.destroyed) return;
  // One writeHead with the headers set before (e.g. by CORS) merged in: the cheapest way through Node's HTTP layer.
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': NO_STORE,
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(body);
}

/** A JSON array of already-serialized messages. */
export function jsonArray(parts: readonly string[]): string {
  return parts.length === 1 ? `[${parts[0]}]` : `[${parts.join(',')}]`;
}

/** Renders an HTTP error (from http-errors, body-parser or elsewhere) as JSON. */
export function sendHttpError(res: ServerResponse, err: unknown, advice?: Advice): void {
  const e = err as Partial<HttpError> & { type?: string };
  const status = typeof e.status === 'number' && e.status >= 400 && e.status < 600 ? e.status : 500;
  // Only errors meant for the client show their text (http-errors sets `expose` for 4xx).
  const text = e.expose === true && typeof e.message === 'string' ? e.message : 'Internal server error';
  const body: Record<string, unknown> = {
    successful: false,
    error: `${status}::${text}`,
    type: typeof e.type === 'string' ? e.type : status === 500 ? 'server.error' : 'request.invalid',
  };
  if (advice !== undefined) body.advice = advice;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (status === 405) res.setHeader('Allow', 'GET, POST, OPTIONS');
  if (status === 503) res.setHeader('Retry-After', '1');
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));
}
