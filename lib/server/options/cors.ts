/** The `cors` option, and the origin rules it shares with `websocket.origins`. */
import { boolean, fail, integer, isObject } from './check.js';
import type { CorsOptions, OriginRule } from './types.js';

export function isOriginRule(value: unknown): value is OriginRule {
  const single = (v: unknown) => typeof v === 'string' || v instanceof RegExp;
  return single(value) || typeof value === 'function' || (Array.isArray(value) && value.every(single));
}

export function resolveCors(value: unknown): Required<CorsOptions> | undefined {
  if (value === undefined || value === false) return undefined;
  if (!isObject(value)) fail('cors', 'false or { origin, credentials?, maxAge? }', value);
  const cors = value;
  if (!isOriginRule(cors.origin)) fail('cors.origin', 'a string, RegExp, array of them, or function', cors.origin);
  if (cors.origin === '*' && cors.credentials !== false) {
    fail('cors.origin', 'a list of origins when credentials are allowed (use credentials: false with "*")', cors.origin);
  }
  return {
    origin: cors.origin,
    credentials: boolean(cors, 'credentials', true),
    maxAge: integer(cors, 'maxAge', 600, 0),
  };
}
