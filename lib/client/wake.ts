/**
 * Browsers tell when waiting out a retry delay is pointless: the network came
 * back (`online`), or the user returned to a page that slept in the
 * background (`visibilitychange` to visible). Outside a browser nothing is watched.
 */

interface EventTargetLike {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

/** Calls `wake` on those events; returns the function that stops watching. */
export function watchWake(wake: () => void): () => void {
  const scope = globalThis as { window?: EventTargetLike; document?: EventTargetLike & { visibilityState?: string } };
  const { window, document } = scope;
  if (window === undefined || typeof window.addEventListener !== 'function') return () => undefined;
  const visible = () => {
    if (document?.visibilityState === 'visible') wake();
  };
  window.addEventListener('online', wake);
  document?.addEventListener('visibilitychange', visible);
  return () => {
    window.removeEventListener('online', wake);
    document?.removeEventListener('visibilitychange', visible);
  };
}
