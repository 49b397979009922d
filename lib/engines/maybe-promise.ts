/**
 * A value, or a promise of it: what a step on the message path returns when
 * it can usually answer at once (a local session, no hook that waits). The
 * caller continues synchronously on a value and waits only on a promise, so
 * the common case allocates no promise and waits for no microtask.
 */
export type MaybePromise<T> = T | Promise<T>;

/** True for a promise (any thenable). */
export function isPromise(value: unknown): value is Promise<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') && value !== null && 'then' in value && typeof value.then === 'function'
  );
}
