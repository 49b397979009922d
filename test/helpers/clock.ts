/**
 * Fake time for tests about time (hold, expiry, pings): the server's
 * setTimeout, setInterval and Date move only when the test ticks, so a
 * loaded machine cannot make a timer fire early or late. Waits and bounds
 * in the helpers keep running on real time. Requests go through
 * `new RawClient(url, {}, 'http')`, not fetch (see httpPost).
 */
import type { TestContext } from 'node:test';

export interface FakeTime {
  /** Moves fake time forward by `ms`, firing every timer that falls due. */
  tick(ms: number): void;
}

/**
 * Fakes time for the rest of test `t`; call it before starting the server so
 * that the server's timers are fake. The test's own mock tracker (not the
 * global one) keeps no timer from one test to the next, and resets when `t` ends.
 */
export function fakeTime(t: TestContext): FakeTime {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 1_700_000_000_000 });
  return { tick: (ms) => t.mock.timers.tick(ms) };
}

/**
 * Fakes only the wall clock for the rest of test `t`: `Date` stands still
 * until the test ticks it, while timers (the server's sweeper, a client's
 * sockets and fetch) run on real time. For tests about deadlines the server
 * reads from `Date.now()` (credential expiry) with real clients: a tick moves
 * the deadline past, and the next real sweep sees it.
 */
export function fakeDate(t: TestContext): FakeTime {
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
  return { tick: (ms) => t.mock.timers.tick(ms) };
}
