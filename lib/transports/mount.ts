/**
 * Where the host's Express app mounted the server (`app.use('/live', server)`),
 * found by walking the app's router stack, so WebSocket upgrades and lane
 * polls are taken on the same path Express routes to the router.
 * Works with Express 4 (`app._router`) and 5 (`app.router`), nested routers
 * included; `Layer#match` exists in both.
 *
 * The walk also tells whether the mount is bare: no layer of the host's runs
 * on the path before the server (Express 4's own `query` and `expressInit`
 * aside). Layers are only ever appended, so what runs before the server on a
 * path cannot change once it is mounted.
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
  /** The handle's function name (both Express versions set it). */
  name?: string;
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

/** Express 4's own first layers: they only prepare the request. */
const BUILT_IN = new Set(['query', 'expressInit']);

/** Where a path reaches the server: the mount prefix, and whether a layer of the host's runs before it. */
interface Route {
  prefix: string;
  bare: boolean;
}

/** True when `layer` would run for `path`. Express itself calls match() right before reading layer.path; this walk is synchronous, so nothing interleaves. */
function matches(layer: LayerLike, path: string): unknown {
  if (typeof layer.match !== 'function') return undefined;
  const result = layer.match(path);
  return result === false || result === undefined || result === null ? undefined : result;
}

/** How `stack` routes `path` to `target`, or undefined when it does not. */
function routeIn(
  stack: readonly LayerLike[],
  target: unknown,
  path: string,
  base: string,
  depth: number,
  bare: boolean,
): Route | undefined {
  for (const layer of stack) {
    const handle = layer.handle;
    const inner = handle === target ? undefined : stackOf(handle);
    if (handle !== target && (inner === undefined || depth > 8)) {
      // A layer of the host's that runs on this path before the server: the mount is not bare.
      if (bare && !BUILT_IN.has(layer.name ?? '') && matches(layer, path) !== undefined) bare = false;
      continue;
    }
    const result = matches(layer, path);
    if (result === undefined) continue;
    const given = (result as { path?: unknown }).path;
    const matched = typeof given === 'string' ? given : typeof layer.path === 'string' ? layer.path : '';
    if (inner === undefined) return { prefix: base + matched, bare };
    const rest = path.slice(matched.length);
    const found = routeIn(inner, target, rest.startsWith('/') ? rest : `/${rest}`, base + matched, depth + 1, bare);
    if (found !== undefined) return found;
    // A router that does not lead to the server still ran its layers for this path.
    bare = false;
  }
  return undefined;
}

/** Entries kept per distinct request path; a bound, since paths come from clients. */
const CACHE_LIMIT = 256;

/** Answers "is this path the Bayeux endpoint?" from the app's mount of the server. */
export class MountPoint {
  private readonly cache = new Map<string, Route | null>();

  constructor(
    private readonly app: ExpressLike | undefined,
    private readonly target: unknown,
  ) {}

  /** How Express routes `path` to the server, or undefined when it does not. */
  private routeFor(path: string): Route | undefined {
    const known = this.cache.get(path);
    if (known !== undefined) return known ?? undefined;
    const stack = this.app === undefined ? undefined : appStack(this.app);
    const route = stack === undefined ? undefined : routeIn(stack, this.target, path, '', 0, true);
    // Only hits are cached while nothing is mounted: the app may mount the server after attach().
    if (route !== undefined || this.mounted()) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(path, route ?? null);
    }
    return route;
  }

  /**
   * Undefined when the path of `url` is not the endpoint (or a CometD sub-path
   * of it) under the server's mount; else whether the mount is bare there.
   */
  endpoint(url: string | undefined): { bare: boolean } | undefined {
    const path = pathOf(url);
    const route = this.routeFor(path);
    return route !== undefined && atEndpoint(path, route.prefix) ? route : undefined;
  }

  /** True when the path of `url` is the endpoint (or a CometD sub-path of it) under the server's mount. */
  isEndpoint(url: string | undefined): boolean {
    return this.endpoint(url) !== undefined;
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
