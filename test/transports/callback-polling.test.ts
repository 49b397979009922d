import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Message } from '../../lib/index.js';
import { startServer, type TestServer, until } from '../helpers/server.js';

const HANDSHAKE = { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['callback-polling'] };

async function jsonp(url: string, messages: unknown, callback?: string) {
  const query = new URLSearchParams({ message: JSON.stringify(messages) });
  if (callback !== undefined) query.set('jsonp', callback);
  const res = await fetch(`${url}?${query}`);
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Evaluates a JSONP body the way a page would, capturing the call. */
function unwrap(text: string, callback: string): Message[] {
  const match = new RegExp(`^/\\*\\*/${callback.replace(/[.$]/g, '\\$&')}\\(([\\s\\S]*)\\);$`).exec(text);
  assert.ok(match, `not a JSONP call of ${callback}: ${text}`);
  return JSON.parse(match[1] as string) as Message[];
}

describe('callback-polling (JSONP GET)', () => {
  let server: TestServer;
  before(async () => {
    // Long enough that a held connect is answered by the publish under test, never by the timeout on a loaded machine.
    server = await startServer({ timeout: 60_000 });
  });
  after(() => server.close());

  it('wraps the replies in a call of the named function, as text/javascript with nosniff', async () => {
    const res = await jsonp(server.url, HANDSHAKE, 'cb_1.$done');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const [reply] = unwrap(res.text, 'cb_1.$done');
    assert.equal(reply?.successful, true);
    assert.deepEqual(reply?.supportedConnectionTypes, ['long-polling', 'callback-polling']);
  });

  it('calls jsonpcallback when no name is given', async () => {
    const res = await jsonp(server.url, HANDSHAKE);
    assert.equal(unwrap(res.text, 'jsonpcallback')[0]?.successful, true);
  });

  for (const bad of ['alert(1)//', 'a;b', 'a b', 'x\r\nSet-Cookie: a=b', '1abc', 'a'.repeat(200), '']) {
    it(`refuses the callback name ${JSON.stringify(bad.slice(0, 20))} with a 400 JSON error`, async () => {
      const res = await jsonp(server.url, HANDSHAKE, bad);
      assert.equal(res.status, 400);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(res.headers.get('set-cookie'), null);
      const body = JSON.parse(res.text) as { successful: boolean; error: string; type: string };
      assert.equal(body.successful, false);
      assert.match(body.error, /^400::/);
    });
  }

  it('escapes U+2028 and U+2029 so the script parses', async () => {
    const [hs] = unwrap((await jsonp(server.url, HANDSHAKE, 'cb')).text, 'cb');
    const clientId = hs?.clientId as string;
    await jsonp(server.url, { channel: '/meta/subscribe', clientId, subscription: '/jsonp/sep' }, 'cb');
    await server.bayeux.publish('/jsonp/sep', 'a\u2028b\u2029c');
    const res = await jsonp(server.url, { channel: '/meta/connect', clientId, connectionType: 'callback-polling' }, 'cb');
    assert.ok(!res.text.includes('\u2028') && !res.text.includes('\u2029'));
    assert.match(res.text, /\\u2028/);
    assert.equal(unwrap(res.text, 'cb')[0]?.data, 'a\u2028b\u2029c');
  });

  it('holds a connect over JSONP until a message arrives', async () => {
    const [hs] = unwrap((await jsonp(server.url, HANDSHAKE, 'cb')).text, 'cb');
    const clientId = hs?.clientId as string;
    await jsonp(server.url, { channel: '/meta/subscribe', clientId, subscription: '/jsonp/held' }, 'cb');
    const held = jsonp(
      server.url,
      { channel: '/meta/connect', clientId, connectionType: 'callback-polling', advice: { timeout: 10_000 } },
      'cb',
    );
    await until(async () => (await server.bayeux.stats()).held === 1, 'the held JSONP connect');
    await server.bayeux.publish('/jsonp/held', 7);
    const messages = unwrap((await held).text, 'cb');
    assert.equal(messages[0]?.data, 7);
    assert.equal(messages[1]?.channel, '/meta/connect');
  });

  it('asks for a message parameter', async () => {
    const res = await fetch(`${server.url}?jsonp=cb`);
    assert.equal(res.status, 400);
  });

  it('is off with callbackPolling: false (GET is then 405)', async () => {
    const off = await startServer({ callbackPolling: false });
    try {
      const res = await jsonp(off.url, HANDSHAKE, 'cb');
      assert.equal(res.status, 405);
      assert.match(res.headers.get('allow') ?? '', /POST/);
      const hs = await fetch(off.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(HANDSHAKE) });
      const [reply] = (await hs.json()) as Message[];
      assert.deepEqual(reply?.supportedConnectionTypes, ['long-polling']);
    } finally {
      await off.close();
    }
  });
});
