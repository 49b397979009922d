import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Extension, Message, OutgoingKind } from '../../lib/index.js';
import { deliveries, RawClient } from '../helpers/raw-client.js';
import { startServer } from '../helpers/server.js';

describe('extensions', () => {
  it('lets incoming extensions rewrite messages, sync or async, in order', async (t) => {
    const order: string[] = [];
    const extensions: Extension[] = [
      {
        incoming(message) {
          order.push('first');
          if (message.channel === '/e/a') message.data = { ...(message.data as object), stamped: true };
        },
      },
      {
        async incoming(message) {
          order.push('second');
          if (message.channel === '/e/a') (message.data as { later?: boolean }).later = true;
        },
      },
    ];
    const server = await startServer({ extensions });
    t.after(() => server.close());
    const client = new RawClient(server.url);
    await client.handshake();
    await client.subscribe('/e/a');
    order.length = 0;
    await client.publish('/e/a', { v: 1 });
    assert.deepEqual(order, ['first', 'second']);
    assert.deepEqual(deliveries(await client.connect(0))[0]?.data, { v: 1, stamped: true, later: true });
  });

  it('refuses a message whose incoming extension sets error, for meta and publish alike', async (t) => {
    const server = await startServer({
      extensions: [
        {
          incoming(message) {
            if (message.channel === '/meta/handshake' && (message.ext as { token?: string } | undefined)?.token !== 'ok') {
              message.error = '403::Bad token';
            }
            if (message.channel === '/e/locked') message.error = '403:/e/locked:Locked';
          },
        },
      ],
    });
    t.after(() => server.close());
    const bad = await new RawClient(server.url).handshake({ ext: { token: 'nope' } });
    assert.equal(bad.successful, false);
    assert.equal(bad.error, '403::Bad token');
    const client = new RawClient(server.url);
    assert.equal((await client.handshake({ ext: { token: 'ok' } })).successful, true);
    const refused = await client.publish('/e/locked', 1);
    assert.equal(refused.error, '403:/e/locked:Locked');
    assert.equal(refused.successful, false);
    assert.equal(refused.clientId, client.clientId, 'the refusal names the session it refused');
    assert.equal(bad.clientId, undefined, 'a refused handshake has no session to name');
  });

  it('ignores an error field the client put on its own message', async (t) => {
    const server = await startServer();
    t.after(() => server.close());
    const client = new RawClient(server.url);
    await client.handshake();
    const reply = await client.publish('/e/b', 1, { error: '500::pre-set' });
    assert.equal(reply.successful, true);
  });

  it('runs outgoing extensions on replies, and once per broadcast before fan-out', async (t) => {
    const kinds: [OutgoingKind, string][] = [];
    const server = await startServer({
      extensions: [
        {
          outgoing(message, ctx) {
            kinds.push([ctx.kind, message.channel]);
            if (ctx.kind === 'broadcast') message.ext = { server: 'stamped' };
            if (ctx.kind === 'reply' && message.channel === '/meta/handshake') message.ext = { welcome: true };
          },
        },
      ],
    });
    t.after(() => server.close());
    const subscribers = [new RawClient(server.url), new RawClient(server.url), new RawClient(server.url)];
    for (const s of subscribers) {
      const hs = await s.handshake();
      assert.deepEqual(hs.ext, { welcome: true });
      await s.subscribe('/e/fan');
    }
    kinds.length = 0;
    await subscribers[0]?.publish('/e/fan', 'x');
    assert.deepEqual(kinds, [
      ['broadcast', '/e/fan'],
      ['reply', '/e/fan'],
    ]);
    for (const s of subscribers) {
      const messages = await s.connect(0);
      assert.deepEqual(deliveries(messages)[0]?.ext, { server: 'stamped' });
    }
  });

  it('gives outgoing extensions on a held connect reply the recipient client', async (t) => {
    const seen: (string | undefined)[] = [];
    const server = await startServer({
      timeout: 50,
      extensions: [
        {
          async outgoing(message: Message, ctx) {
            if (message.channel !== '/meta/connect') return;
            seen.push(ctx.client?.id);
            // A change made after an await still reaches the wire: the reply waits for the chain.
            await Promise.resolve();
            message.ext = { stamped: true };
          },
        },
      ],
    });
    t.after(() => server.close());
    const client = new RawClient(server.url);
    await client.handshake();
    const [reply] = await client.connect();
    assert.equal(reply?.successful, true);
    assert.deepEqual(reply?.ext, { stamped: true });
    assert.deepEqual(seen, [client.clientId]);
  });

  it('answers 500 and keeps serving when an extension throws', async (t) => {
    const server = await startServer({
      extensions: [
        {
          incoming(message) {
            if (message.channel === '/e/boom') throw new Error('boom');
          },
        },
      ],
    });
    t.after(() => server.close());
    const client = new RawClient(server.url);
    await client.handshake();
    assert.equal((await client.publish('/e/boom', 1)).error, '500::Internal server error');
    assert.equal((await client.publish('/e/fine', 1)).successful, true);
  });
});
