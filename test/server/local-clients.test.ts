import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message, PushEvent } from '../../lib/index.js';
import { deliveries, RawClient } from '../helpers/raw-client.js';
import { bounded, startServer, until } from '../helpers/server.js';

describe('local clients', () => {
  it('receive remote publishes with the publisher clientId, and can unsubscribe', async (t) => {
    const server = await startServer();
    t.after(() => server.close());
    const got: Message[] = [];
    const unsubscribe = server.bayeux.subscribe('/l/*', (m) => {
      got.push(m);
    });
    const client = new RawClient(server.url);
    await client.handshake();
    await client.publish('/l/a', 'one', { id: 'i1' });
    assert.deepEqual(got, [{ channel: '/l/a', data: 'one', id: 'i1', clientId: client.clientId }]);
    unsubscribe();
    await client.publish('/l/a', 'two');
    assert.equal(got.length, 1);
    assert.equal((await server.bayeux.stats()).localSubscriptions, 0);
  });

  it('publish to remote subscribers with id and ext, and see it themselves (the Autobot)', async (t) => {
    const server = await startServer();
    t.after(() => server.close());
    const bot = 'autobot';
    const replies: Promise<void>[] = [];
    server.bayeux.subscribe('/chat/demo', (m) => {
      if (m.clientId === bot) return;
      const user = (m.data as { user?: string }).user ?? 'anon';
      replies.push(
        server.bayeux.publish(
          '/chat/demo',
          { user: 'Autobot', chat: `I got your message, ${user}` },
          { clientId: bot, id: 'bot-1', ext: { bot: true } },
        ),
      );
    });
    const client = new RawClient(server.url);
    await client.handshake();
    await client.subscribe('/chat/demo');
    await client.publish('/chat/demo', { user: 'ann', chat: 'hi' });
    await bounded(Promise.all(replies), 'the bot to answer');
    const received = deliveries(await client.connect(0));
    assert.deepEqual(received, [
      { channel: '/chat/demo', data: { user: 'ann', chat: 'hi' }, id: received[0]?.id },
      { channel: '/chat/demo', data: { user: 'Autobot', chat: 'I got your message, ann' }, id: 'bot-1', ext: { bot: true } },
    ]);
    assert.equal(replies.length, 1, 'the bot does not answer itself');
  });

  it('push a message to one client only, and report unknown clients', async (t) => {
    const server = await startServer({ timeout: 10_000 });
    t.after(() => server.close());
    const pushes: PushEvent[] = [];
    server.bayeux.on('push', (e) => pushes.push(e));
    const [a, b] = [new RawClient(server.url), new RawClient(server.url)];
    await a.handshake();
    await b.handshake();
    const waiting = a.connect();
    await until(async () => (await server.bayeux.stats()).held === 1, 'held connect');
    assert.equal(await server.bayeux.push(a.clientId, '/service/notice', { n: 1 }), true);
    assert.deepEqual(deliveries(await bounded(waiting, 'the pushed message')), [{ channel: '/service/notice', data: { n: 1 } }]);
    assert.deepEqual(deliveries(await b.connect(0)), []);
    assert.equal(await server.bayeux.push('nobody', '/x', 1), false);
    assert.deepEqual(pushes, [{ clientId: a.clientId, channel: '/service/notice', data: { n: 1 } }]);
  });

  it('refuse invalid channels with a TypeError', async (t) => {
    const server = await startServer();
    t.after(() => server.close());
    const b = server.bayeux;
    const refused = (message: string) => (err: unknown) => err instanceof TypeError && err.message === message;
    assert.throws(() => b.subscribe('nope', () => {}), TypeError);
    assert.throws(() => b.subscribe('/meta/connect', () => {}), /meta or service/);
    assert.throws(() => b.subscribe('/a', 5 as unknown as () => void), /handler must be a function/);
    await assert.rejects(b.publish('nope', 1), refused('server.publish(): invalid channel "nope"'));
    await assert.rejects(b.publish('/a/*', 1), refused('server.publish(): cannot publish to the pattern /a/*'));
    await assert.rejects(
      b.publish('/service/x', 1),
      refused('server.publish(): /service/x is a meta or service channel, which are never broadcast'),
    );
    for (const channel of ['/meta/connect', '/a/*', '/a/**', 'nope']) {
      await assert.rejects(
        b.push('id', channel, 1),
        refused(`server.push(): invalid channel ${JSON.stringify(channel)} (a concrete broadcast or service channel)`),
      );
    }
    await assert.rejects(b.push(5 as unknown as string, '/a', 1), refused('server.push(): clientId must be a string'));
  });

  it('push through the outgoing extensions, which see the recipient and may change the message', async (t) => {
    const seen: unknown[] = [];
    const server = await startServer({
      extensions: [
        {
          outgoing(message, ctx) {
            if (ctx.kind !== 'push') return;
            seen.push({ to: ctx.to, client: ctx.client, request: ctx.request, channel: message.channel });
            message.ext = { stamped: true };
          },
        },
      ],
    });
    t.after(() => server.close());
    const client = new RawClient(server.url);
    await client.handshake();
    assert.equal(await server.bayeux.push(client.clientId, '/service/notice', 'hi'), true);
    assert.deepEqual(deliveries(await client.connect(0)), [{ channel: '/service/notice', data: 'hi', ext: { stamped: true } }]);
    assert.deepEqual(seen, [{ to: client.clientId, client: undefined, request: undefined, channel: '/service/notice' }]);
  });

  it('keep routing when a local subscriber throws or rejects', async (t) => {
    const errors: [string | undefined, string][] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (o: { err?: Error }, msg: string) => errors.push([o.err?.message, msg]) };
    const server = await startServer({ logger });
    t.after(() => server.close());
    server.bayeux.subscribe('/l/bad', () => {
      throw new Error('sync');
    });
    server.bayeux.subscribe('/l/bad', async () => {
      throw new Error('async');
    });
    const fine: unknown[] = [];
    server.bayeux.subscribe('/l/bad', (message) => {
      fine.push(message.data);
    });
    const client = new RawClient(server.url);
    await client.handshake();
    await client.subscribe('/l/bad');
    assert.equal((await client.publish('/l/bad', 1)).successful, true);
    assert.equal(deliveries(await client.connect(0)).length, 1);
    await until(() => errors.length === 2, 'both errors logged');
    assert.deepEqual(fine, [1], 'the well-behaved subscriber got the message');
    assert.deepEqual(errors.sort(), [
      ['async', 'express-bayeux: a local subscriber failed'],
      ['sync', 'express-bayeux: a local subscriber threw'],
    ]);
  });
});
