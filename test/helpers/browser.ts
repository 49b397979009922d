/** Debian's Chromium driven by playwright-core (never a downloaded browser). */
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { type Browser, chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** True when browser tests can run; otherwise skips the test with a reason (fails instead when CI requires a browser). */
export function browserAvailable(t: TestContext): boolean {
  if (existsSync(CHROMIUM)) return true;
  const why = `no Chromium at ${CHROMIUM} (install Debian's chromium: apt-get install -y chromium)`;
  if (process.env.BAYEUX_REQUIRE_BROWSER === '1') throw new Error(`BAYEUX_REQUIRE_BROWSER=1 but ${why}`);
  t.skip(why);
  return false;
}

/** A headless browser on a fresh temporary profile; each `newContext()` is a separate person (own cookies). */
export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
}
