/**
 * Where the host's Express app mounted the server (`app.use('/live', server)`),
 * found by walking the app's router stack, so WebSocket upgrades and lane
 * polls are taken on the same path Express routes to the router.
 * Works with Express 4 (`app._router`) and 5 (`app.router`), nested routers
 * included; `Layer#match` exists in both.
 */
import { atEndpoint, pathOf } from './endpoint.js';

/** An Express application, as far as the server needs it. */
export interface ExpressLike {
  /** Request prototype of the app (`req.ip` with `trust proxy`, `req.get`, ...). */
  request: object;
}

interface LayerLike {
  handle: unknown;
  /** Express 4 and router 2.0 return a boolean and set `path`; router 2.2 returns `{ path }`. */
  match(path: string): unknown;
  path?: string;
}

/** True for an Express app (`app.listen()` makes it the server's request listener). */
export function isExpressApp(value: unknown): value is ExpressLike {
  const app = value as { request?: unknown; get?: unknown; handle?: unknown } | undefined;
  return (
    typeof value === 'function' && typeof app?.request === 'object' && typeof app.get === 'function' && typeof app.handle === 'function'
  );
}

function stackOf(value: unknown): LayerLike[] | undefined {
  if (value === null || (typeof value !== 'function' && typeof value !== 'object')) return undefined;
  const stack = (value as { stack?: unknown }).stack;
  return Array.isArray(stack) ? (stack as LayerLike[]) : undefined;
}

/** The app's top-level stack: Express 4 keeps its router in `_router`; Express 5's `router` getter creates it. */
function appStack(app: object): LayerLike[] | undefined {
  const legacy = stackOf((app as { _router?: unknown })._router);
  if (legacy !== undefined) return legacy;
  try {
    return stackOf((app as { router?: unknown }).router);
  } catch {
    // Express 4 throws on `app.router` (deprecated) before its router exists.
    return undefined;
  }
}

/** The prefix under which `stack` routes `path` to `target`, or undefined. */
function prefixIn(stack: readonly LayerLike[], target: unknown, path: string, base: string, depth: number): string | undefined {
  for (const layer of stack) {
    const handle = layer.handle;
    const inner = handle === target ? undefined : stackOf(handle);
    if (handle !== target && (inner === undefined || depth > 8)) continue;
    // Express itself calls match() right before reading layer.path; this walk is synchronous, so nothing interleaves.
    if (typeof layer.match !== 'function') continue;
    const result = layer.match(path);
    if (result === false || result === undefined || result === null) continue;
    const given = (result as { path?: unknown }).path;
    const matched = typeof given === 'string' ? given : typeof layer.path === 'string' ? layer.path : '';
    if (inner === undefined) return base + matched;
    const rest = path.slice(matched.length);
    const found = prefixIn(inner, target, rest.startsWith('/') ? rest : `/${rest}`, base + matched, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Entries kept per distinct request path; a bound, since paths come from clients. */
const CACHE_LIMIT = 256;

/** Answers "is this path the Bayeux endpoint?" from the app's mount of the server. */
export class MountPoint {
  private readonly cache = new Map<string, string | null>();

  constructor(
    private readonly app: ExpressLike | undefined,
    private readonly target: unknown,
  ) {}

  /** The mount prefix Express routes `path` through to the server, or undefined when it does not. */
  prefixFor(path: string): string | undefined {
    const known = this.cache.get(path);
    if (known !== undefined) return known ?? undefined;
    const stack = this.app === undefined ? undefined : appStack(this.app);
    const prefix = stack === undefined ? undefined : prefixIn(stack, this.target, path, '', 0);
    // Only hits are cached while nothing is mounted: the app may mount the server after attach().
    if (prefix !== undefined || this.mounted()) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(path, prefix ?? null);
    }
    return prefix;
  }

  /** True when the path of `url` is the endpoint (or a CometD sub-path of it) under the server's mount. */
  isEndpoint(url: string | undefined): boolean {
    const path = pathOf(url);
    const prefix = this.prefixFor(path);
    return prefix !== undefined && atEndpoint(path, prefix);
  }

  /** True when the app mounts the server anywhere. */
  mounted(): boolean {
    const stack = this.app === undefined ? undefined : appStack(this.app);
    return stack !== undefined && contains(stack, this.target, 0);
  }
}

function contains(stack: readonly LayerLike[], target: unknown, depth: number): boolean {
  for (const layer of stack) {
    if (layer.handle === target) return true;
    const inner = stackOf(layer.handle);
    if (inner !== undefined && depth < 8 && contains(inner, target, depth + 1)) return true;
  }
  return false;
}
