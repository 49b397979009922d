/**
 * The server's life: running, closing (close() called, work winding down),
 * closed. Every public method checks it once and refuses with one typed error,
 * the way `ws` names its states.
 */

/** Where a server is in its life. */
export type ServerState = 'running' | 'closing' | 'closed';

/** Thrown (or rejected) by server methods called once `server.close()` has been called. */
export class ServerClosedError extends Error {
  /** Stable machine-readable code. */
  readonly code = 'BAYEUX_SERVER_CLOSED' as const;

  constructor(method: string) {
    super(`server.${method}(): the Bayeux server is closed (server.close() was called); create a new bayeux() to serve again`);
    this.name = 'ServerClosedError';
  }
}

/** Resolves when `promise` settles or after `ms`, whichever is first; says which. */
export function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = promise.then(
    () => true,
    () => true,
  );
  return Promise.race([settled, expired]).finally(() => clearTimeout(timer));
}
