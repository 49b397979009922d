/** A tiny typed event emitter that runs in browsers and Node alike. */

/** Listener lists by event name; `on()` returns the function that removes the listener. */
// The constraint maps the declared names only: an interface of events gets no string index, so a typo is an error.
export class Emitter<Events extends { [E in keyof Events]: unknown[] }> {
  private readonly listeners = new Map<keyof Events, Set<Function>>();

  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** Removes a listener. */
  off<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): void {
    this.listeners.get(event)?.delete(listener);
  }

  /** True when `event` has a listener. */
  protected listening(event: keyof Events): boolean {
    return (this.listeners.get(event)?.size ?? 0) > 0;
  }

  /** Calls every listener; one that throws does not stop the others (its error is reported asynchronously). */
  protected emit<E extends keyof Events>(event: E, ...args: Events[E]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as (...a: Events[E]) => void)(...args);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
