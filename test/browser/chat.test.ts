/** The chat demo in a real headless Chromium: two people, the Autobot, guests, fallback, restarts. */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import session from 'express-session';
import type { Browser, Page } from 'playwright-core';
import { createChatApp } from '../../example/app.js';
import { browserAvailable, launch } from '../helpers/browser.js';

const root = join(import.meta.dirname, '../..');

/** The page's document, as far as the functions run in the page use it (no DOM types in this build). */
interface PageElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
}
declare const document: { querySelector(s: string): PageElement | null; querySelectorAll(s: string): Iterable<PageElement> };

interface Running {
  http: Server;
  close(): Promise<void>;
}

const store = new session.MemoryStore();

async function start(port = 0): Promise<Running & { port: number }> {
  const { app, server } = createChatApp({ logger: false, sessionSecret: 'browser-test', sessionStore: store });
  const http = createServer(app);
  server.attach(http, { app });
  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
  return {
    http,
    port: (http.address() as AddressInfo).port,
    async close() {
      await server.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

async function joinAsGuest(page: Page, url: string, name: string): Promise<void> {
  await page.goto(url);
  await page.fill('#guest-name', name);
  await page.click('#guest-form button');
  await page.waitForSelector('#room:not([hidden])');
}

async function logIn(page: Page, url: string, user: string): Promise<void> {
  await page.goto(url);
  await page.fill('#username', user);
  await page.fill('#password', user);
  await page.click('#login-form button');
  await page.waitForSelector('#room:not([hidden])');
}

async function say(page: Page, text: string): Promise<void> {
  await page.fill('#text', text);
  await page.click('#post-form button');
}

function messages(page: Page): Promise<string[]> {
  return page.$$eval('#messages li', (items) => items.map((li) => li.textContent ?? ''));
}

async function waitForMessage(page: Page, pattern: RegExp): Promise<void> {
  await page.waitForFunction(
    (source) => [...document.querySelectorAll('#messages li')].some((li) => new RegExp(source).test(li.textContent ?? '')),
    pattern.source,
    {
      timeout: 15_000,
    },
  );
}

describe('the chat demo in Chromium', () => {
  let browser: Browser | undefined;
  let running: (Running & { port: number }) | undefined;
  let url = '';
  before(async () => {
    if (!browserAvailableQuiet()) return;
    running = await start();
    url = `http://127.0.0.1:${running.port}/`;
    browser = await launch();
  });
  /** A page in its own context: its own cookies, so logins do not leak between people. */
  async function person(): Promise<Page> {
    const context = await (browser as Browser).newContext();
    return context.newPage();
  }
  after(async () => {
    await browser?.close();
    await running?.close();
  });

  it('lets a logged-in user post to a guest, who sees the post and the Autobot reply', async (t) => {
    if (!browserAvailable(t) || browser === undefined) return;
    const guest = await person();
    const alice = await person();
    await joinAsGuest(guest, url, 'Carol');
    assert.match((await guest.textContent('#state')) ?? '', /Connected via websocket/);
    await logIn(alice, url, 'alice');
    await guest.waitForFunction(() => [...document.querySelectorAll('#presence li')].some((li) => li.textContent === 'alice'));
    await say(alice, 'Hello from Alice');
    await waitForMessage(guest, /alice.*Hello from Alice/);
    await waitForMessage(guest, /Autobot.*I got your message, alice/);
    await waitForMessage(alice, /Autobot.*I got your message, alice/);
    // A marker through the same room: once the Autobot has answered it, a second answer to the first
    // post (or an answer to itself) would have come before, on this ordered channel.
    await say(alice, 'marker from Alice');
    await guest.waitForFunction(() => {
      const texts = [...document.querySelectorAll('#messages li')].map((li) => li.textContent ?? '');
      const marker = texts.findIndex((text) => text.includes('marker from Alice'));
      return marker >= 0 && texts.slice(marker).some((text) => text.includes('I got your message'));
    });
    const seen = await messages(guest);
    const marker = seen.findIndex((m) => m.includes('marker from Alice'));
    const answers = seen.slice(0, marker).filter((m) => /I got your message/.test(m));
    assert.equal(answers.length, 1, `the Autobot answers once and never itself: ${answers.join(' | ')}`);
    const shots = mkdtempSync(join(tmpdir(), 'bayeux-chat-'));
    const shot = join(shots, 'chat.png');
    await guest.setViewportSize({ width: 900, height: 640 });
    await guest.screenshot({ path: shot });
    console.log(`chat screenshot: ${shot}`);
    mkdirSync(join(root, 'docs'), { recursive: true });
    if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(shot, join(root, 'docs/chat.png'));
    await Promise.all([guest.close(), alice.close()]);
  });

  it('tells a guest why posting is refused', async (t) => {
    if (!browserAvailable(t) || browser === undefined) return;
    const guest = await person();
    await joinAsGuest(guest, url, 'Dave');
    await say(guest, 'can I post?');
    await guest.waitForFunction(() => (document.querySelector('#post-error')?.textContent ?? '').includes('Log in to post'));
    assert.deepEqual(
      (await messages(guest)).filter((m) => m.includes('can I post?')),
      [],
    );
    await guest.close();
  });

  it('falls back to long-polling when WebSocket is blocked, and still chats', async (t) => {
    if (!browserAvailable(t) || browser === undefined) return;
    const blocked = await person();
    await blocked.routeWebSocket(/\/cometd/, (ws) => ws.close());
    await logIn(blocked, url, 'bob');
    assert.match((await blocked.textContent('#state')) ?? '', /Connected via long-polling/);
    await say(blocked, 'Bob over long-polling');
    await waitForMessage(blocked, /Autobot.*I got your message, bob/);
    await blocked.close();
  });

  it('survives a server restart', async (t) => {
    if (!browserAvailable(t) || browser === undefined || running === undefined) return;
    const alice = await person();
    await logIn(alice, url, 'alice');
    const port = running.port;
    await running.close();
    await alice.waitForFunction(() => document.querySelector('#state')?.getAttribute('data-state') === 'reconnecting', undefined, {
      timeout: 15_000,
    });
    running = await start(port);
    await alice.waitForFunction(() => document.querySelector('#state')?.getAttribute('data-state') === 'connected', undefined, {
      timeout: 30_000,
    });
    await say(alice, 'Back after the restart');
    await waitForMessage(alice, /Autobot.*I got your message, alice/);
    await alice.close();
  });
});

function browserAvailableQuiet(): boolean {
  try {
    return browserAvailable({ skip() {} } as unknown as Parameters<typeof browserAvailable>[0]);
  } catch {
    return false;
  }
}
