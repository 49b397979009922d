/**
 * Taking one node out of service without loss (`server.drain()`): health
 * says `draining` so load balancers stop sending, handshakes are refused with
 * jittered advice to retry (elsewhere), held polls are answered at once with
 * their messages and advice to come back after a jittered pause, sockets are
 * closed with 1012 (service restart) so their clients reconnect through the
 * balancer. With an engine whose sessions move (Redis), each session's queue
 * goes to the node that takes its next poll; the drain waits until no
 * session is left here, or `timeout`, then closes the server. Memory
 * sessions cannot move: the node answers their polls at once for `timeout`.
 */
import type { ServerCore } from './core.js';

/** What `server.drain()` takes. */
export interface DrainOptions {
  /** Most milliseconds to wait for sessions to move before closing (default 10000). */
  timeout?: number;
}

/** What a drain achieved. */
export interface DrainResult {
  /** Sessions delivered to by this node when the drain began. */
  sessions: number;
  /** Of those, the ones still here when it ended (their queues end with the node). */
  remaining: number;
  /** Milliseconds the drain took, close included. */
  duration: number;
}

const DRAIN_DEFAULT_TIMEOUT = 10_000;

/** How often the drain looks whether sessions are left (it ends at `timeout` at the latest). */
const CHECK_EVERY = 25;

export function checkDrainOptions(options: DrainOptions | undefined): number {
  const timeout = options?.timeout ?? DRAIN_DEFAULT_TIMEOUT;
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 0) {
    throw new TypeError(`server.drain(): "timeout" must be a non-negative integer of milliseconds, got ${String(timeout)}`);
  }
  return timeout;
}

export async function drain<User>(core: ServerCore<User>, timeout: number): Promise<DrainResult> {
  const started = Date.now();
  const local = () => core.engine.localCounts?.().sessions ?? 0;
  const sessions = local();
  await core.startDraining();
  // Sessions that can move (Redis) are waited for until none is left; memory sessions cannot, so the node
  // keeps answering their polls at once (with their queues) for `timeout`, long enough for a balancer to notice.
  // A `close()` meanwhile ends the wait.
  const movable = core.engine.owns !== undefined;
  const deadline = started + timeout;
  let remaining = local();
  while (!core.closed && Date.now() < deadline && (!movable || remaining > 0)) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(CHECK_EVERY, Math.max(0, deadline - Date.now()))));
    // Counted while still open: closing ends the memory engine's sessions.
    if (!core.closed) remaining = local();
  }
  if (remaining > 0) {
    core.logger.warn(
      { sessions, remaining, timeout },
      `express-bayeux: drain: ${remaining} of ${sessions} session(s) did not move to another node; their queues end with this one`,
    );
  } else {
    core.logger.info({ sessions }, `express-bayeux: drain: all ${sessions} session(s) moved to other nodes`);
  }
  await core.close();
  return { sessions, remaining, duration: Date.now() - started };
}
