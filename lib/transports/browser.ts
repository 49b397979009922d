/**
 * Binds a logged-in session to the browser that handshook, as CometD's
 * BAYEUX_BROWSER cookie does: polls that skip the host's middleware (the
 * lane) have no `req.user`, so they prove instead that they come from that
 * browser. The cookie is HttpOnly (page scripts cannot read it) and
 * SameSite=Strict (other sites' pages cannot send it).
 */

import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OriginRule } from '../server/options/types.js';
import { isCrossSite } from './origin.js';

const BROWSER_COOKIE = 'BAYEUX_BROWSER';

/** A browser id is a clientId-sized random token (144 bits, base64url). */
const TOKEN = /^[A-Za-z0-9_-]{24}$/;

/** The browser id the request presents, unless it is malformed or the request is cross-site. */
export function browserOf(req: IncomingMessage, origins: OriginRule | undefined): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined) return undefined;
  let at = header.indexOf(`${BROWSER_COOKIE}=`);
  // Skip cookies whose name merely ends in ours (`XBAYEUX_BROWSER=`).
  while (at > 0 && header[at - 1] !== ' ' && header[at - 1] !== ';') at = header.indexOf(`${BROWSER_COOKIE}=`, at + 1);
  if (at === -1) return undefined;
  const start = at + BROWSER_COOKIE.length + 1;
  const end = header.indexOf(';', start);
  const value = (end === -1 ? header.slice(start) : header.slice(start, end)).trim();
  if (!TOKEN.test(value)) return undefined;
  return isCrossSite(req, origins) ? undefined : value;
}

/** Constant-time comparison of two browser ids (both fixed-length tokens when set). */
export function sameBrowser(presented: string | undefined, bound: string | undefined): boolean {
  if (presented === undefined || bound === undefined || presented.length !== bound.length) return false;
  return timingSafeEqual(Buffer.from(presented), Buffer.from(bound));
}

/** Adds the Set-Cookie for a browser id, scoped to the endpoint's mount path, keeping other cookies set. */
export function setBrowserCookie(req: IncomingMessage, res: ServerResponse, browser: string): void {
  if (res.headersSent) return;
  const base = (req as { baseUrl?: unknown }).baseUrl;
  const path = typeof base === 'string' && base !== '' ? base : '/';
  // Express's `req.secure` honours `trust proxy`; a plain TLS socket says so itself.
  const secure = (req as { secure?: unknown }).secure === true || (req.socket as { encrypted?: boolean }).encrypted === true;
  const cookie = `${BROWSER_COOKIE}=${browser}; Path=${encodeURI(path)}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  const existing = res.getHeader('Set-Cookie');
  if (existing === undefined) res.setHeader('Set-Cookie', cookie);
  else res.setHeader('Set-Cookie', [...(Array.isArray(existing) ? existing : [String(existing)]), cookie]);
}
