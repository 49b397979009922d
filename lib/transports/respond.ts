/**
 * Writing responses: Bayeux replies as a JSON array (or a JSONP call), and
 * HTTP-level failures as a JSON body rendered here, never by the host app's
 * error page.
 */
import type { ServerResponse } from 'node:http';
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

/** A field of a thrown value, which may be anything. */
function field(err: unknown, name: string): unknown {
  return typeof err === 'object' && err !== null ? Reflect.get(err, name) : undefined;
}

/** How an error response renders a thrown value when it carries no text for the client or no type. */
export interface ErrorDefaults {
  text(status: number): string;
  type(status: number): string;
}

/**
 * The status and JSON body of an error response (HTTP or a refused upgrade):
 * `{ successful: false, error: '<status>::<text>', type }`, from an
 * http-errors error, body-parser's, or anything else thrown (a 500).
 */
export function errorResponse(err: unknown, defaults: ErrorDefaults, advice?: Advice): { status: number; body: string } {
  const given = field(err, 'status');
  const status = typeof given === 'number' && given >= 400 && given < 600 ? given : 500;
  // Only errors meant for the client show their text (http-errors sets `expose` for 4xx).
  const message = field(err, 'message');
  const text = field(err, 'expose') === true && typeof message === 'string' ? message : defaults.text(status);
  const type = field(err, 'type');
  const body: Record<string, unknown> = {
    successful: false,
    error: `${status}::${text}`,
    type: typeof type === 'string' ? type : defaults.type(status),
  };
  if (advice !== undefined) body.advice = advice;
  return { status, body: JSON.stringify(body) };
}

const HTTP_DEFAULTS: ErrorDefaults = {
  text: () => 'Internal server error',
  type: (status) => (status === 500 ? 'server.error' : 'request.invalid'),
};

/** Renders an HTTP error (from http-errors, body-parser or elsewhere) as JSON. */
export function sendHttpError(res: ServerResponse, err: unknown, advice?: Advice): void {
  const { status, body } = errorResponse(err, HTTP_DEFAULTS, advice);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (status === 405) res.setHeader('Allow', 'GET, POST, OPTIONS');
  if (status === 503) res.setHeader('Retry-After', '1');
  send(res, status, 'application/json; charset=utf-8', body);
}
