import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ConnectEvent } from '../../lib/index.js';
import { recordingLogger } from '../helpers/logger.js';
import { RawClient } from '../helpers/raw-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('/meta/handshake', () => {
  let server: TestServer;
  const connects: ConnectEvent[] = [];
  before(async () => {
    server = await startServer({
      timeout: 5000,
      messageACL: (client, message) => {
        if (message.channel !== '/meta/handshake') return true;
        const ext = message.ext as { password?: string } | undefined;
        if (ext?.password === 'wrong') return 'Invalid username or password';
        if (client !== undefined) client.data.role = 'tester';
        return true;
      },
    });
    server.bayeux.on('connect', (e) => connects.push(e));
  });
  after(() => server.close());

  it('answers with every required field, the id echoed and retry advice', async () => {
    const reply = await new RawClient(server.url).handshake({ id: 'hs-1' });
    assert.equal(reply.channel, '/meta/handshake');
    assert.equal(reply.successful, true);
    assert.equal(reply.id, 'hs-1');
    assert.equal(reply.version, '1.0');
    assert.deepEqual(reply.supportedConnectionTypes, ['long-polling', 'callback-polling']);
    assert.equal(typeof reply.clientId, 'string');
    assert.deepEqual(reply.advice, { reconnect: 'retry', interval: 0, timeout: 5000, maxInterval: 30000 });
  });

  it('hands out clientIds of at least 128 random bits, never twice', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) ids.add((await new RawClient(server.url).handshake()).clientId as string);
    assert.equal(ids.size, 20);
    for (const id of ids) assert.ok(Buffer.from(id, 'base64url').length >= 16, id);
  });

  it('emits connect with the client, its address and transport, once its first connect arrives', async () => {
    const client = new RawClient(server.url);
    await client.handshake();
    assert.equal(
      connects.find((e) => e.clientId === client.clientId),
      undefined,
    );
    await client.connect(0);
    const event = connects.find((e) => e.clientId === client.clientId);
    assert.deepEqual(event, {
      clientId: client.clientId,
      ip: '127.0.0.1',
      user: undefined,
      data: { role: 'tester' },
      transport: 'long-polling',
    });
  });

  it('refuses a missing or unsupported version with reconnect none', async () => {
    const missing = await new RawClient(server.url).handshake({ version: undefined });
    assert.equal(missing.successful, false);
    assert.equal(missing.error, '400:version:Missing required parameter');
    assert.equal(missing.advice?.reconnect, 'none');
    const future = await new RawClient(server.url).handshake({ version: '2.0' });
    assert.equal(future.error, '300:2.0:Version mismatch');
    assert.equal(future.advice?.reconnect, 'none');
    assert.equal((await new RawClient(server.url).handshake({ version: '1.0beta' })).successful, true);
  });

  it('fails when no connection type overlaps, listing the server types', async () => {
    const reply = await new RawClient(server.url).handshake({ supportedConnectionTypes: ['flash', 'iframe'] });
    assert.equal(reply.successful, false);
    assert.equal(reply.error, '301:flash,iframe:Connection types not supported');
    assert.deepEqual(reply.supportedConnectionTypes, ['long-polling', 'callback-polling']);
    assert.equal(reply.advice?.reconnect, 'none');
    const none = await new RawClient(server.url).handshake({ supportedConnectionTypes: [] });
    assert.equal(none.error, '400:supportedConnectionTypes:Missing required parameter');
  });

  it('accepts a client that offers one supported type among others', async () => {
    const reply = await new RawClient(server.url).handshake({ supportedConnectionTypes: ['websocket', 'callback-polling'] });
    assert.equal(reply.successful, true);
  });

  it('answers an ACL refusal with its reason and reconnect none (no retry storm), and keeps no session', async () => {
    const before = (await server.bayeux.stats()).sessions;
    const connects: unknown[] = [];
    const onConnect = (e: unknown) => connects.push(e);
    server.bayeux.on('connect', onConnect);
    const reply = await new RawClient(server.url).handshake({ ext: { password: 'wrong' } });
    server.bayeux.off('connect', onConnect);
    assert.equal(reply.successful, false);
    assert.equal(reply.error, '403::Invalid username or password');
    assert.equal(reply.advice?.reconnect, 'none');
    assert.equal(reply.clientId, undefined);
    assert.equal((await server.bayeux.stats()).sessions, before, 'a refused handshake creates no session');
    assert.deepEqual(connects, []);
  });
});

describe('handshake limits', () => {
  it('refuses handshakes past maxSessionsPerIp with 503 and handshake advice after a pause', async (t) => {
    const logger = recordingLogger();
    const server = await startServer({ maxSessionsPerIp: 2, logger });
    t.after(() => server.close());
    assert.equal((await new RawClient(server.url).handshake()).successful, true);
    const second = new RawClient(server.url);
    assert.equal((await second.handshake()).successful, true);
    const third = await new RawClient(server.url).handshake();
    assert.equal(third.successful, false);
    assert.equal(third.error, '503::Too many sessions');
    assert.equal(third.advice?.reconnect, 'handshake');
    // About 5 s, spread so that refused clients do not come back together.
    const interval = third.advice?.interval as number;
    assert.ok(interval >= 2500 && interval <= 7500, `interval ${interval}`);
    assert.deepEqual(logger.lines.warn, [
      [{ ip: '127.0.0.1' }, 'express-bayeux: handshake refused: 127.0.0.1 holds 2 sessions, the limit per IP'],
    ]);
    await second.disconnect();
    assert.equal((await new RawClient(server.url).handshake()).successful, true);
  });

  it('keeps values the ACL put in client.data with the session', async (t) => {
    let seen: unknown;
    const server = await startServer({
      messageACL: (client, message) => {
        if (message.channel === '/meta/handshake' && client !== undefined) client.data.level = 3;
        if (message.channel === '/x') seen = client?.data.level;
        return true;
      },
    });
    t.after(() => server.close());
    const client = new RawClient(server.url);
    await client.handshake();
    await client.publish('/x', 1);
    assert.equal(seen, 3);
  });
});
