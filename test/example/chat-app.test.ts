/** The example app without a browser: static headers, login, ACL, Autobot, services. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createChatApp } from '../../example/app.js';
import { BayeuxClient, type BayeuxClientError } from '../../lib/client/index.js';
import type { Message } from '../../lib/index.js';
import { parsePrometheus } from '../helpers/prometheus.js';
import { until } from '../helpers/server.js';

describe('the example chat app', () => {
  let base = '';
  const chat = createChatApp({ logger: false, sessionSecret: 'test' });
  const http = createServer(chat.app);
  const clients: BayeuxClient[] = [];
  before(async () => {
    chat.server.attach(http, { app: chat.app });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.disconnect()));
    await chat.server.close();
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });

  async function login(user: string, password = user): Promise<string> {
    const res = await fetch(`${base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: user, password }),
    });
    assert.equal(res.status, 200);
    return (res.headers.get('set-cookie') ?? '').split(';')[0] as string;
  }

  async function client(name: string, cookie?: string): Promise<BayeuxClient> {
    const c = new BayeuxClient(`${base}/cometd`, { ext: { name }, ...(cookie ? { headers: { cookie } } : {}) });
    clients.push(c);
    await c.connect();
    return c;
  }

  it('serves the page, its script and the bundled client with cache headers per type', async () => {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    assert.match(await page.text(), /express-bayeux chat/);
    const css = await fetch(`${base}/chat.css`);
    assert.equal(css.headers.get('cache-control'), 'public, max-age=3600');
    const bundle = await fetch(`${base}/client.js`);
    assert.equal(bundle.status, 200, 'dist/browser/client.js is built by npm run build');
    assert.match(bundle.headers.get('content-type') ?? '', /javascript/);
  });

  it('refuses a wrong password', async () => {
    const res = await fetch(`${base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'nope' }),
    });
    assert.equal(res.status, 401);
  });

  it('lets a logged-in user post, stamps the author, and the Autobot answers once', async () => {
    const cookie = await login('alice');
    const alice = await client('ignored', cookie);
    const guest = await client('Carol');
    const seen: Message[] = [];
    await guest.subscribe('/chat/demo', (m) => seen.push(m));
    await alice.publish('/chat/demo', { text: 'hi', user: 'forged' });
    await until(() => seen.length === 2, 'the post and the Autobot reply');
    assert.deepEqual(
      seen.map((m) => [(m.data as { user: string }).user, (m.data as { text: string }).text]),
      [
        ['alice', 'hi'],
        ['Autobot', 'I got your message, alice'],
      ],
    );
  });

  it('lets guests read but not post, and says why', async () => {
    const guest = await client('Dave');
    await assert.rejects(
      guest.publish('/chat/demo', { text: 'x' }),
      (e: BayeuxClientError) => e.code === 403 && e.message === 'Log in to post',
    );
    await assert.rejects(
      guest.subscribe('/private', () => {}),
      (e: BayeuxClientError) => e.code === 403,
    );
  });

  it('answers /service/echo and lists who is online in /service/who', async () => {
    const cookie = await login('bob');
    const bob = await client('x', cookie);
    const eve = await client('Eve');
    // Who is online: who is in the room (server.presence of /chat/demo).
    await bob.subscribe('/chat/demo', () => {});
    await eve.subscribe('/chat/demo', () => {});
    assert.deepEqual(await bob.call('/service/echo', { a: 1 }), { a: 1 });
    const who = (await bob.call('/service/who')) as string[];
    assert.ok(who.includes('bob'));
    assert.ok(who.includes('Eve (guest)'));
  });

  it('ends the Bayeux sessions of a user who logs out; the client comes back as a guest who cannot post', async () => {
    const cookie = await login('alice');
    const alice = await client('x', cookie);
    await alice.subscribe('/chat/demo', () => {});
    assert.equal((await alice.publish('/chat/demo', { text: 'hi' })).successful, true);
    const first = alice.clientId;
    const revoked = new Promise<BayeuxClientError>((resolve) => alice.on('revoked', resolve));
    const res = await fetch(`${base}/logout`, { method: 'POST', headers: { cookie } });
    assert.equal(res.status, 200);
    assert.equal((await revoked).code, 401);
    await until(() => alice.state === 'connected' && alice.clientId !== first, 'the new (guest) session');
    await assert.rejects(alice.publish('/chat/demo', { text: 'x' }), (e: BayeuxClientError) => e.message === 'Log in to post');
  });

  it('exposes Prometheus metrics at /metrics', async () => {
    await client('Metrics reader');
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    const samples = parsePrometheus(await res.text());
    const handshakes = [...samples].filter(([name]) => name.startsWith('bayeux_handshakes_total{')).reduce((sum, [, n]) => sum + n, 0);
    assert.ok(handshakes >= 1);
    assert.ok(samples.has('bayeux_sessions'));
  });
});
