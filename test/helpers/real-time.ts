/**
 * Real timers and clock, taken when the helpers load, before any test fakes
 * them (helpers/clock.ts): every wait and bound in the helpers runs on real
 * time, so a test under fake time still fails at its bound instead of hanging.
 */
export const realSetTimeout = globalThis.setTimeout;
export const realClearTimeout = globalThis.clearTimeout;
export const realNow = (): number => performance.now();

/**
 * How long the helpers wait for something that should happen at once before
 * failing the test (10 s). `npm run mutate` lowers it: there most runs are of
 * broken code, and a test that fails in 3 s instead of 10 s makes the whole
 * run hours shorter. Only the default changes; waits a test states stay.
 */
export const WAIT_MS = Number(process.env.BAYEUX_TEST_WAIT_MS) || 10_000;
