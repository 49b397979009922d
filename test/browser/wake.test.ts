/** In Chromium, a client waiting out a long retry delay retries at once when the network is back or the page is visible again. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import express from 'express';
import { bayeux } from '../../lib/index.js';
import { browserAvailable, launch } from '../helpers/browser.js';

declare const window: { states: string[]; dispatchEvent(event: unknown): void };
declare const document: { dispatchEvent(event: unknown): void };
declare const Event: new (type: string) => unknown;

const PAGE = `<!doctype html><script type="module">
import { BayeuxClient } from '/client.js';
window.states = [];
// A retry delay of a whole minute: only a wake-up brings the client back within the test's bound.
const client = new BayeuxClient(new URL('/cometd', location.href).href, {
  transports: ['long-polling'],
  backoff: { initial: 60000, max: 60000, random: () => 1 },
});
client.on('state', (state) => window.states.push(state));
client.on('error', () => {});
client.connect();
</script>`;

async function page() {
  const app = express();
  let down = false;
  app.get('/', (_req, res) => {
    res.type('html').send(PAGE);
  });
  app.use(express.static(join(import.meta.dirname, '../../dist/browser'), { index: false }));
  // The outage: every Bayeux request fails at the HTTP level while `down`.
  app.use('/cometd', (_req, res, next) => (down ? res.status(502).end() : next()));
  const server = bayeux({ logger: false, timeout: 200 });
  app.use('/cometd', server);
  const http = createServer(app);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const browser = await launch();
  const tab = await browser.newPage();
  await tab.goto(`http://127.0.0.1:${(http.address() as AddressInfo).port}/`);
  const states = () => tab.evaluate(() => window.states);
  return {
    tab,
    states,
    setDown(value: boolean) {
      down = value;
    },
    async close() {
      await browser.close();
      await server.close();
      http.close();
    },
  };
}

describe('the browser client after an outage', () => {
  for (const [name, wake] of [
    ['online', () => window.dispatchEvent(new Event('online'))],
    ['a page becoming visible', () => document.dispatchEvent(new Event('visibilitychange'))],
  ] as const) {
    it(`reconnects at once on ${name} instead of waiting out its backoff`, async (t) => {
      if (!browserAvailable(t)) return;
      const p = await page();
      try {
        await p.tab.waitForFunction(() => window.states.includes('connected'), undefined, { timeout: 10_000 });
        p.setDown(true);
        await p.tab.waitForFunction(() => window.states.at(-1) === 'reconnecting', undefined, { timeout: 10_000 });
        p.setDown(false);
        // Headless Chromium's page is visible: the visibility event finds document.visibilityState 'visible'.
        await p.tab.evaluate(wake);
        await p.tab.waitForFunction(() => window.states.at(-1) === 'connected', undefined, { timeout: 10_000 });
        assert.equal((await p.states()).at(-1), 'connected');
      } finally {
        await p.close();
      }
    });
  }
});
