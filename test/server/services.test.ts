import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BayeuxError, type MessageContext } from '../../lib/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('/service channels', () => {
  let server: TestServer;
  const errors: unknown[] = [];
  const errorLines: string[] = [];
  let context: MessageContext | undefined;
  before(async () => {
    server = await startServer({
      logger: {
        debug() {},
        info() {},
        warn() {},
        error: (obj: unknown, msg: string) => {
          errors.push(obj);
          errorLines.push(msg);
        },
      },
      services: {
        echo: (m) => m.data,
        list: () => [1, 2, 3],
        later: async (m) => ({ doubled: (m.data as number) * 2 }),
        silent: () => undefined,
        refuse: () => {
          throw new BayeuxError('403::not for you');
        },
        broken: () => {
          throw new Error('database exploded at 10.0.0.5');
        },
        'deep/name': () => 'deep',
        whoami: (_m, ctx) => {
          context = ctx;
          return ctx.client?.id;
        },
        _handler: (m) => `fallback for ${m.channel}`,
      },
      messageACL: (_c, m) => m.channel !== '/service/forbidden' || 'no',
    });
  });
  after(() => server.close());

  async function call(channel: string, data: unknown = null) {
    const client = new RawClient(server.url);
    await client.handshake();
    return { client, reply: await client.request({ channel, clientId: client.clientId, data, id: 'call-1' }) };
  }

  it('replies to the sender with the return value as data and the request id', async () => {
    const { client, reply } = await call('/service/echo', { text: 'hi' });
    assert.deepEqual(reply, { channel: '/service/echo', successful: true, id: 'call-1', clientId: client.clientId, data: { text: 'hi' } });
  });

  it('sends an array result as the data of one reply', async () => {
    const { reply } = await call('/service/list');
    assert.deepEqual(reply.data, [1, 2, 3]);
  });

  it('waits for a promise', async () => {
    assert.deepEqual((await call('/service/later', 21)).reply.data, { doubled: 42 });
  });

  it('sends a bare success when the handler returns nothing', async () => {
    const { reply } = await call('/service/silent');
    assert.equal(reply.successful, true);
    assert.equal('data' in reply, false);
  });

  it('uses the error of a thrown BayeuxError', async () => {
    const { reply } = await call('/service/refuse');
    assert.equal(reply.successful, false);
    assert.equal(reply.error, '403::not for you');
  });

  it('answers 500 for any other throw, logs it and does not leak its text', async () => {
    const { reply } = await call('/service/broken');
    assert.equal(reply.error, '500::Internal server error');
    assert.ok(!JSON.stringify(reply).includes('10.0.0.5'));
    assert.deepEqual(errors.at(-1), { err: new Error('database exploded at 10.0.0.5'), channel: '/service/broken' });
    assert.equal(errorLines.at(-1), 'express-bayeux: a message handler failed');
  });

  it('routes multi-segment names and falls back to _handler', async () => {
    assert.equal((await call('/service/deep/name')).reply.data, 'deep');
    assert.equal((await call('/service/unknown')).reply.data, 'fallback for /service/unknown');
  });

  it('applies the ACL to service calls', async () => {
    const { client, reply } = await call('/service/forbidden');
    assert.deepEqual(reply, {
      channel: '/service/forbidden',
      successful: false,
      clientId: client.clientId,
      id: 'call-1',
      error: '403:/service/forbidden:no',
    });
  });

  it('refuses a wildcard service channel before any handler or ACL runs', async () => {
    for (const channel of ['/service/echo/*', '/service/**']) {
      const { client, reply } = await call(channel);
      assert.deepEqual(reply, {
        channel,
        successful: false,
        clientId: client.clientId,
        id: 'call-1',
        error: `405:${channel}:Invalid channel`,
      });
    }
  });

  it('gives handlers the sender session and request context', async () => {
    const { client, reply } = await call('/service/whoami');
    assert.equal(reply.data, client.clientId);
    assert.equal(context?.ip, '127.0.0.1');
    assert.equal(context?.transport, 'long-polling');
    assert.ok(context?.req !== undefined);
  });
});

describe('service channels without a handler', () => {
  it('answers 404 Unknown channel', async (t) => {
    const server = await startServer({ services: { echo: (m) => m.data } });
    t.after(() => server.close());
    const client = new RawClient(server.url);
    await client.handshake();
    const reply = await client.publish('/service/nothing', 1);
    assert.equal(reply.error, '404:/service/nothing:Unknown channel');
    assert.equal(reply.successful, false);
    assert.equal(reply.clientId, client.clientId);
  });
});
