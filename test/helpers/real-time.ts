/**
 * Real timers and clock, taken when the helpers load, before any test fakes
 * them (helpers/clock.ts): every wait and bound in the helpers runs on real
 * time, so a test under fake time still fails at its bound instead of hanging.
 */
export const realSetTimeout = globalThis.setTimeout;
export const realClearTimeout = globalThis.clearTimeout;
export const realNow = (): number => performance.now();
