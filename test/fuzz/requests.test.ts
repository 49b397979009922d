/**
 * Random request sequences against a live server: valid and invalid messages,
 * garbage bodies, aborted requests, in any order. The server must answer each
 * with Bayeux replies or a 4xx, never log an error, and keep its books
 * straight afterwards.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Logger, Message } from '../../lib/index.js';
import { rawPost } from '../helpers/raw-client.js';
import { startServer, until } from '../helpers/server.js';

const CLIENTS = 3;
const channel = fc.constantFrom('/a', '/a/b', '/a/*', '/a/**', '/meta/x', '/service/echo', '/bad channel', '', '/__proto__', 5);
const action = fc.oneof(
  fc.record({ kind: fc.constant('handshake' as const), who: fc.nat(CLIENTS - 1) }),
  fc.record({ kind: fc.constant('connect' as const), who: fc.nat(CLIENTS - 1) }),
  fc.record({ kind: fc.constant('subscribe' as const), who: fc.nat(CLIENTS - 1), channel }),
  fc.record({ kind: fc.constant('unsubscribe' as const), who: fc.nat(CLIENTS - 1), channel }),
  fc.record({ kind: fc.constant('publish' as const), who: fc.nat(CLIENTS - 1), channel, data: fc.jsonValue({ maxDepth: 3 }) }),
  fc.record({ kind: fc.constant('disconnect' as const), who: fc.nat(CLIENTS - 1) }),
  fc.record({
    kind: fc.constant('garbage' as const),
    body: fc.string({ maxLength: 60 }),
    type: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'image/png'),
  }),
  fc.record({ kind: fc.constant('message' as const), value: fc.jsonValue({ maxDepth: 3 }) }),
  fc.record({ kind: fc.constant('abort' as const), who: fc.nat(CLIENTS - 1) }),
);

describe('live request sequences (fuzzed)', () => {
  it('always answer with Bayeux replies or a 4xx, and leave consistent counts', async () => {
    const errors: unknown[] = [];
    const capture: Logger = { debug() {}, info() {}, warn() {}, error: (o, m) => errors.push(m ?? o) };
    const server = await startServer({ timeout: 50, maxInterval: 60_000, logger: capture, services: { echo: (m) => m.data } });
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(action, { maxLength: 25 }), async (actions) => {
          const ids: string[] = Array(CLIENTS).fill('');
          const created: string[] = [];
          for (const a of actions) {
            let body: unknown;
            let raw = false;
            let type = 'application/json';
            switch (a.kind) {
              case 'handshake':
                body = { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] };
                break;
              case 'connect':
                body = { channel: '/meta/connect', clientId: ids[a.who], connectionType: 'long-polling' };
                break;
              case 'subscribe':
              case 'unsubscribe':
                body = { channel: `/meta/${a.kind}`, clientId: ids[a.who], subscription: a.channel };
                break;
              case 'publish':
                body = { channel: a.channel, clientId: ids[a.who], data: a.data };
                break;
              case 'disconnect':
                body = { channel: '/meta/disconnect', clientId: ids[a.who] };
                break;
              case 'garbage':
                body = a.body;
                raw = true;
                type = a.type;
                break;
              case 'message':
                body = a.value;
                break;
              case 'abort': {
                // A connect whose client goes away before the answer.
                const url = new URL(server.url);
                await new Promise<void>((resolve) => {
                  const req = request({
                    host: url.hostname,
                    port: url.port,
                    path: url.pathname,
                    method: 'POST',
                    headers: { 'content-type': 'application/json' },
                  });
                  req.on('error', () => resolve());
                  req.end(JSON.stringify({ channel: '/meta/connect', clientId: ids[a.who], connectionType: 'long-polling' }), () => {
                    req.destroy();
                    resolve();
                  });
                });
                continue;
              }
            }
            const res = await rawPost(server.url, body, { raw, contentType: type });
            assert.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `status ${res.status}: ${res.text}`);
            if (res.status === 200) {
              assert.ok(Array.isArray(res.body), res.text);
              for (const m of res.body as Message[]) assert.equal(typeof m.channel, 'string');
              const hs = (res.body as Message[]).find((m) => m.channel === '/meta/handshake' && m.successful === true);
              if (hs !== undefined && a.kind === 'handshake') {
                ids[a.who] = hs.clientId as string;
                created.push(hs.clientId as string);
              }
            }
          }
          assert.deepEqual(errors, []);
          // Afterwards: nothing held without its request, and every session can be ended.
          await until(async () => (await server.bayeux.stats()).held === 0, 'held connects to time out', 5000);
          for (const id of created) await server.bayeux.disconnect(id);
          const stats = await server.bayeux.stats();
          assert.equal(stats.held, 0);
          assert.deepEqual(stats.perIp, {});
          return true;
        }),
        { numRuns: 60 },
      );
      // Every session of every run ended: none is left behind.
      const { sessions } = await server.bayeux.stats();
      assert.equal(sessions, 0, `${sessions} sessions left`);
    } finally {
      await server.close();
    }
  });
});
