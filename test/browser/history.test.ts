/** The chat demo in Chromium: a page whose session was lost shows, once back, what it missed meanwhile. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import session from 'express-session';
import { createChatApp } from '../../example/app.js';
import { browserAvailable, launch } from '../helpers/browser.js';

interface PageElement {
  textContent: string | null;
  className: string;
}
declare const document: { querySelectorAll(s: string): Iterable<PageElement> };

describe('the chat demo after time away', () => {
  it('marks the messages it missed while its session was gone, in order, once', async (t) => {
    if (!browserAvailable(t)) return;
    const { app, server } = createChatApp({ logger: false, sessionSecret: 'history-test', sessionStore: new session.MemoryStore() });
    const http = createServer(app);
    server.attach(http, { app });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
    const browser = await launch();
    try {
      const guestIds: string[] = [];
      server.on('connect', (e) => {
        if (String(e.data.name).startsWith('Erin')) guestIds.push(e.clientId);
      });
      const guest = await (await browser.newContext()).newPage();
      const bob = await (await browser.newContext()).newPage();
      await guest.goto(url);
      await guest.fill('#guest-name', 'Erin');
      await guest.click('#guest-form button');
      await guest.waitForSelector('#room:not([hidden])');
      await bob.goto(url);
      await bob.fill('#username', 'bob');
      await bob.fill('#password', 'bob');
      await bob.click('#login-form button');
      await bob.waitForSelector('#room:not([hidden])');

      // The page loses its session (as after a minute offline) and cannot handshake again until we let it.
      let away = true;
      await guest.route('**/cometd**', (route) =>
        away && (route.request().postData() ?? '').includes('/meta/handshake') ? route.abort() : route.continue(),
      );
      assert.equal(guestIds.length, 1);
      await server.disconnect(guestIds[0] as string);
      await guest.waitForFunction(() => [...document.querySelectorAll('#state')].some((s) => s.textContent === 'Reconnecting…'));
      for (const text of ['first while away', 'second while away']) {
        await bob.fill('#text', text);
        await bob.click('#post-form button');
        await bob.waitForFunction(
          (t) => [...document.querySelectorAll('#messages li')].some((li) => (li.textContent ?? '').includes(t)),
          text,
        );
      }
      away = false;
      await guest.waitForFunction(
        () => [...document.querySelectorAll('#messages li')].filter((li) => li.className.includes('missed')).length >= 4,
        undefined,
        { timeout: 30_000 },
      );
      const shown = await guest.$$eval('#messages li', (items) => items.map((li) => `${li.className}|${li.textContent ?? ''}`));
      const away_ = shown.findIndex((s) => s.startsWith('away|'));
      assert.ok(away_ >= 0, 'a "While you were away" line');
      const missed = shown.slice(away_ + 1).map((s) => s.replace(/^missed\|\S+/, '').replace(/^bot missed\|\S+/, 'bot:'));
      assert.equal(shown.filter((s) => s.includes('first while away')).length, 1, 'once');
      assert.match(missed[0] ?? '', /bob.*first while away/);
      assert.ok(missed.findIndex((s) => /second while away/.test(s)) > 0, 'in order');
    } finally {
      await browser.close();
      await server.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });
});
