import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawPost } from '../helpers/raw-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const HANDSHAKE = { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] };

interface HttpError {
  successful: boolean;
  error: string;
  type: string;
}

describe('bad requests', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ maxBodySize: 4096, maxMessagesPerRequest: 5 });
    // A host error page that must never be used for Bayeux errors.
    server.app.use((_err: unknown, _req: unknown, res: { status(n: number): { send(s: string): void } }, _next: unknown) => {
      res.status(500).send('<html>host error page</html>');
    });
  });
  after(() => server.close());

  async function expectError(res: Awaited<ReturnType<typeof rawPost>>, status: number, type: RegExp): Promise<void> {
    assert.equal(res.status, status, res.text);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const body = res.body as HttpError;
    assert.equal(body.successful, false);
    assert.match(body.error, new RegExp(`^${status}::`));
    assert.match(body.type, type);
    assert.ok(!res.text.includes('    at '), 'no stack trace');
    assert.ok(!res.text.includes('<html>'), 'not the host error page');
    // The server still serves a good request afterwards.
    const ok = await rawPost(server.url, HANDSHAKE);
    assert.equal(ok.messages[0]?.successful, true);
  }

  it('answers invalid JSON with 400', async () => {
    await expectError(await rawPost(server.url, '{"channel":', { raw: true }), 400, /./);
  });

  it('answers an empty body with 400', async () => {
    await expectError(await rawPost(server.url, '', { raw: true }), 400, /./);
  });

  it('answers a body over maxBodySize with 413', async () => {
    const big = JSON.stringify({ ...HANDSHAKE, ext: { pad: 'x'.repeat(10_000) } });
    await expectError(await rawPost(server.url, big, { raw: true }), 413, /./);
  });

  it('answers more than maxMessagesPerRequest messages with 413', async () => {
    await expectError(await rawPost(server.url, Array(6).fill(HANDSHAKE)), 413, /bayeux\.messages\.too\.many/);
  });

  it('answers an unknown content type with 415', async () => {
    await expectError(await rawPost(server.url, JSON.stringify(HANDSHAKE), { contentType: 'application/xml', raw: true }), 415, /./);
  });

  it('answers a missing content type with 415', async () => {
    const res = await fetch(server.url, { method: 'POST', body: new Uint8Array(Buffer.from(JSON.stringify(HANDSHAKE))) });
    const text = await res.text();
    assert.equal(res.status, 415, text);
  });

  for (const body of [[1], ['x'], [null], [{ data: 1 }], [{ channel: 5 }], [{ channel: '/a', id: { x: 1 } }]]) {
    it(`answers the non-message ${JSON.stringify(body)} with 400`, async () => {
      await expectError(await rawPost(server.url, body), 400, /bayeux\.messages\.invalid/);
    });
  }

  for (const body of [42, 'text', null]) {
    it(`answers the top-level JSON ${JSON.stringify(body)} (not an object or array) with 400`, async () => {
      await expectError(await rawPost(server.url, body), 400, /entity\.parse\.failed/);
    });
  }

  for (const method of ['PUT', 'DELETE', 'PATCH']) {
    it(`answers ${method} with 405 and an Allow header`, async () => {
      const res = await fetch(server.url, { method, headers: { 'content-type': 'application/json' }, body: '[]' });
      assert.equal(res.status, 405);
      assert.match(res.headers.get('allow') ?? '', /GET/);
      assert.match(res.headers.get('allow') ?? '', /POST/);
      const body = (await res.json()) as HttpError;
      assert.match(body.error, /^405::/);
    });
  }

  it('parses and answers a deeply nested body under the size limit, and keeps serving', async () => {
    // 1800 levels in 3.6 KB: under maxBodySize (4096), so it reaches the JSON parser and the message handler.
    const deep = `${'['.repeat(1800)}${']'.repeat(1800)}`;
    const body = `[{"channel":"/a","id":"deep","data":${deep}}]`;
    assert.ok(body.length < 4096);
    const res = await rawPost(server.url, body, { raw: true });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(
      res.messages.map((m) => [m.channel, m.id]),
      [['/a', 'deep']],
    );
    const ok = await rawPost(server.url, HANDSHAKE);
    assert.equal(ok.messages[0]?.successful, true);
  });
});
