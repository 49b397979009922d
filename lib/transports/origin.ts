/**
 * Which browser origins may call the endpoint, and whether a request is
 * cross-site. One allow-list (the `cors.origin` option) serves CORS, the
 * WebSocket Origin check and the CSRF rule below.
 */
import type { IncomingMessage } from 'node:http';
import type { OriginRule } from '../server/options/types.js';

/** True when `origin` matches the rule. */
export function originAllowed(rule: OriginRule | undefined, origin: string): boolean {
  if (rule === undefined) return false;
  if (typeof rule === 'function') return rule(origin);
  if (rule === '*') return true;
  const rules: ReadonlyArray<string | RegExp> = Array.isArray(rule) ? rule : [rule as string | RegExp];
  return rules.some((r) => (typeof r === 'string' ? r === origin : r.test(origin)));
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

/**
 * True when `origin` names the host the request was sent to: the Host header,
 * or Express's `req.host`, which honours `trust proxy` (X-Forwarded-Host).
 */
function sameHost(req: IncomingMessage, origin: string): boolean {
  const host = hostOf(origin);
  if (host === undefined) return false;
  const expressHost = (req as { host?: unknown }).host;
  return host === req.headers.host || host === expressHost;
}

/**
 * True when a browser sent the request from another site that the
 * allow-list does not name. Browsers attach cookies to such requests (a form
 * POST, a `<script>` for JSONP), so they must not act as the logged-in user.
 * Requests from non-browser clients carry neither Origin nor Sec-Fetch-Site.
 */
export function isCrossSite(req: IncomingMessage, rule: OriginRule | undefined): boolean {
  const origin = req.headers.origin;
  if (typeof origin === 'string' && origin !== 'null') {
    return !sameHost(req, origin) && !originAllowed(rule, origin);
  }
  if (origin === 'null') return true;
  const site = req.headers['sec-fetch-site'];
  if (site === 'same-origin' || site === 'none') return false;
  const referer = req.headers.referer;
  if (typeof referer === 'string') {
    const refererOrigin = (() => {
      try {
        return new URL(referer).origin;
      } catch {
        return undefined;
      }
    })();
    if (refererOrigin === undefined) return true;
    return !sameHost(req, refererOrigin) && !originAllowed(rule, refererOrigin);
  }
  return site === 'cross-site' || site === 'same-site';
}

/** `req.user` when the request may act as that user; undefined for cross-site requests. */
export function requestUser(req: IncomingMessage, rule: OriginRule | undefined): unknown {
  const user = (req as { user?: unknown }).user;
  if (user === undefined || user === null) return undefined;
  return isCrossSite(req, rule) ? undefined : user;
}
