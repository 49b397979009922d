/** sessionExpiry: a session lives as long as the credentials it was opened with. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BayeuxClient, BayeuxClientError, type ClientState } from '../../lib/client/index.js';
import { type DisconnectReason, type Logger, parseBayeuxError } from '../../lib/index.js';
import { fakeDate } from '../helpers/clock.js';
import { nextEvent } from '../helpers/login.js';
import { RawClient } from '../helpers/raw-client.js';
import { bounded, until, withServer } from '../helpers/server.js';

/** How long a `short` token lasts; the wall clock is fake, so only a tick makes it pass. */
const SHORT = 3000;

/** A client whose handshake carries `tokens[n]` on its n-th handshake (the last one repeats). */
function tokenClient(url: string, tokens: string[]): { client: BayeuxClient; handshakes: () => number } {
  let count = 0;
  const client = new BayeuxClient(url, {
    transports: ['long-polling'],
    extensions: [
      {
        outgoing(message) {
          if (message.channel !== '/meta/handshake') return message;
          const token = tokens[Math.min(count, tokens.length - 1)];
          count++;
          return { ...message, ext: { ...message.ext, token } };
        },
      },
    ],
  });
  return { client, handshakes: () => count };
}

/** Tokens as a host would check them: `short` lasts SHORT ms, `long` an hour, `revoked` is refused. */
const tokenOptions = {
  // The wall clock stands still, so no session goes silent; a short maxInterval only makes the sweep that reads deadlines run often.
  maxInterval: 400,
  messageACL: (_client: unknown, message: { channel: string; ext?: Record<string, unknown> }) =>
    message.channel !== '/meta/handshake' || message.ext?.token !== 'revoked' || 'Token revoked',
  sessionExpiry: (_client: unknown, message: { ext?: Record<string, unknown> }) =>
    message.ext?.token === 'short' ? Date.now() + SHORT : new Date(Date.now() + 3_600_000),
};

describe('sessionExpiry', () => {
  it('ends the session when its credentials expire: the held connect gets 401 and handshake advice', async (t) => {
    const clock = fakeDate(t);
    const reasons: DisconnectReason[] = [];
    await withServer(tokenOptions, async (server) => {
      server.bayeux.on('disconnect', (e) => reasons.push(e.reason));
      const client = new RawClient(server.url);
      assert.equal((await client.handshake({ ext: { token: 'short' } })).successful, true);
      await client.connect(0);
      const held = client.connect();
      await until(async () => (await server.bayeux.stats()).held === 1, 'the held connect');
      clock.tick(SHORT - 1);
      assert.equal((await server.bayeux.stats()).sessions, 1, 'the session lives until its credentials expire');
      clock.tick(1);
      const [reply] = await bounded(held, 'the held connect to be answered');
      assert.equal(reply?.successful, false);
      assert.deepEqual(parseBayeuxError(reply?.error ?? ''), {
        code: 401,
        args: ['expired'],
        message: 'Credentials expired: handshake again to re-authenticate',
      });
      assert.equal(reply?.advice?.reconnect, 'handshake');
      assert.deepEqual(reasons, ['credentials-expired']);
    });
  });

  it('refuses a handshake whose credentials already expired, with reconnect "none"', async () => {
    await withServer({ sessionExpiry: () => Date.now() - 1 }, async (server) => {
      const reply = await new RawClient(server.url).handshake();
      assert.equal(reply.successful, false);
      assert.equal(parseBayeuxError(reply.error ?? '').code, 401);
      assert.equal(reply.advice?.reconnect, 'none');
      assert.equal((await server.bayeux.stats()).sessions, 0);
    });
  });

  it('refuses credentials that expire at this very millisecond, as expired', async (t) => {
    fakeDate(t);
    await withServer({ sessionExpiry: () => Date.now() }, async (server) => {
      const reply = await new RawClient(server.url).handshake();
      assert.equal(reply.successful, false);
      assert.deepEqual(parseBayeuxError(reply.error ?? ''), {
        code: 401,
        args: ['expired'],
        message: 'Credentials expired: handshake again to re-authenticate',
      });
    });
  });

  it('opens a session without an expiry when the hook returns undefined', async () => {
    await withServer({ sessionExpiry: () => undefined }, async (server) => {
      const client = new RawClient(server.url);
      assert.equal((await client.handshake()).successful, true);
      const [reply] = await client.connect(0);
      assert.equal(reply?.successful, true);
    });
  });

  for (const [title, value, shown] of [
    ['a string', 'tomorrow', 'tomorrow'],
    ['an invalid Date', new Date('not a date'), 'Invalid Date'],
    ['NaN', Number.NaN, 'NaN'],
    ['Infinity', Number.POSITIVE_INFINITY, 'Infinity'],
  ] as const) {
    it(`refuses a handshake when the hook returns ${title}, and the log says what it must return`, async () => {
      const logged: string[] = [];
      const logger: Logger = {
        debug() {},
        info() {},
        warn() {},
        error: (obj) => logged.push(String((obj as { err?: Error }).err?.message)),
      };
      await withServer({ logger, sessionExpiry: () => value as unknown as number }, async (server) => {
        const reply = await new RawClient(server.url).handshake();
        assert.equal(reply.successful, false);
        assert.equal(parseBayeuxError(reply.error ?? '').code, 500);
        assert.deepEqual(logged, [`sessionExpiry must return a Date, milliseconds since the epoch or undefined; got ${shown}`]);
      });
    });
  }

  it('takes exactly 1e11 as milliseconds (March 1973: expired), not as seconds', async () => {
    const logged: string[] = [];
    const logger: Logger = { debug() {}, info() {}, warn() {}, error: (obj) => logged.push(String((obj as { err?: Error }).err?.message)) };
    await withServer({ logger, sessionExpiry: () => 1e11 }, async (server) => {
      const reply = await new RawClient(server.url).handshake();
      assert.equal(reply.error, '401:expired:Credentials expired: handshake again to re-authenticate');
      assert.deepEqual(logged, []);
    });
  });

  it('refuses a handshake when the hook returns seconds, and the log names the fix', async () => {
    const logged: string[] = [];
    const logger: Logger = { debug() {}, info() {}, warn() {}, error: (obj) => logged.push(String((obj as { err?: Error }).err?.message)) };
    await withServer({ logger, sessionExpiry: () => Math.floor(Date.now() / 1000) + 60 }, async (server) => {
      const reply = await new RawClient(server.url).handshake();
      assert.equal(reply.successful, false);
      assert.equal(parseBayeuxError(reply.error ?? '').code, 500);
      assert.match(logged.join('\n'), /looks like seconds.*exp \* 1000/);
    });
  });

  it('our client emits "expired" and re-authenticates once', async (t) => {
    const clock = fakeDate(t);
    await withServer(tokenOptions, async (server) => {
      const { client, handshakes } = tokenClient(server.url, ['short', 'long']);
      try {
        await client.connect();
        const first = client.clientId;
        const expired = nextEvent(client, 'expired');
        clock.tick(SHORT);
        const [error] = await expired;
        assert.ok(error instanceof BayeuxClientError);
        assert.equal(error.code, 401);
        await until(() => client.state === 'connected' && client.clientId !== first, 'the new session');
        assert.equal(handshakes(), 2);
      } finally {
        await client.disconnect();
      }
    });
  });

  it('our client stops, without a retry loop, when the re-handshake is refused', async (t) => {
    const clock = fakeDate(t);
    await withServer(tokenOptions, async (server) => {
      const { client, handshakes } = tokenClient(server.url, ['short', 'revoked']);
      const states: ClientState[] = [];
      client.on('state', (s) => states.push(s));
      const errors: BayeuxClientError[] = [];
      client.on('error', (e) => errors.push(e));
      try {
        await client.connect();
        const expired = nextEvent(client, 'expired');
        clock.tick(SHORT);
        await expired;
        await until(() => client.state === 'disconnected', 'the client to stop');
        assert.equal(handshakes(), 2);
        assert.deepEqual(states, ['connecting', 'connected', 'reconnecting', 'disconnected']);
        assert.equal(errors.at(-1)?.message, 'Token revoked');
      } finally {
        await client.disconnect();
      }
    });
  });
});
