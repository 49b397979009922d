import type { Advice } from './message.js';

/** The protocol version this server speaks. */
export const BAYEUX_VERSION = '1.0';

/** Timing the server advertises in `advice`, in milliseconds. */
export interface AdviceTiming {
  timeout: number;
  interval: number;
  maxInterval: number;
}

/** Keep reconnecting as usual. */
export function retryAdvice(timing: AdviceTiming): Advice {
  return {
    reconnect: 'retry',
    interval: timing.interval,
    timeout: timing.timeout,
    maxInterval: timing.maxInterval,
  };
}

/**
 * `interval` spread over half to one and a half of itself: the clients a
 * refusal, a restart or a drain sent away together come back spread out
 * (the mean pause stays `interval`).
 */
export function jittered(interval: number, random: () => number = Math.random): number {
  return Math.round(interval * (0.5 + random()));
}

/** The server cannot serve for now (e.g. its Redis is down): retry the same request after about `interval` ms (jittered). */
export function unavailableAdvice(interval: number): Advice {
  return { reconnect: 'retry', interval: jittered(interval) };
}

/** Pause advised to a client of a draining node before its next request: enough for a balancer to pick another node. */
const DRAIN_RETRY_INTERVAL = 1000;

/** The node is draining: retry as usual, after a spread-out pause (the balancer sends the client elsewhere). */
export function drainAdvice(timing: AdviceTiming): Advice {
  return { ...retryAdvice(timing), interval: jittered(Math.max(timing.interval, DRAIN_RETRY_INTERVAL)) };
}

/** The session is gone: handshake again, then resubscribe. */
export function handshakeAdvice(interval = 0): Advice {
  return { reconnect: 'handshake', interval };
}

/** Do not retry (e.g. the handshake was refused): avoids a retry storm. */
export function noneAdvice(): Advice {
  return { reconnect: 'none', interval: 0 };
}

/**
 * The hold time for one `/meta/connect`: the client may ask for a shorter
 * one with `advice.timeout` (CometD asks for 0 on its first connect), never a
 * longer one than the server's.
 */
export function holdTime(requested: unknown, serverTimeout: number): number {
  if (typeof requested !== 'number' || !Number.isFinite(requested)) return serverTimeout;
  return Math.max(0, Math.min(requested, serverTimeout));
}
