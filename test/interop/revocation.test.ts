/** Clients nobody here wrote follow the advice of server.disconnectUser(): Faye re-handshakes and re-subscribes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import faye from 'faye';
import { headerLogin, type TestUser } from '../helpers/login.js';
import { callback, until, withServer } from '../helpers/server.js';

for (const transport of ['long-polling', 'websocket'] as const) {
  describe(`a signed-out Faye client over ${transport}`, () => {
    it('is told to handshake again, does, and gets its subscription back under the new session', async () => {
      await withServer<TestUser>(
        {},
        async (server) => {
          server.bayeux.useOnUpgrade(headerLogin(new Set()));
          const client = new faye.Client(server.url, { timeout: 5 });
          client.disable('autodisconnect');
          if (transport === 'long-polling') client.disable('websocket');
          client.setHeader('x-user', 'faye-user');
          try {
            const got: unknown[] = [];
            const subscription = client.subscribe('/revoke/faye', (data: unknown) => {
              got.push(data);
            });
            await callback<void>((done) => subscription.then(() => done()), 'the Faye subscription');
            await until(() => client._dispatcher.connectionType === transport, `Faye on ${transport}`);
            const first = client._dispatcher.clientId;
            assert.equal(await server.bayeux.disconnectUser({ id: 'faye-user' }), 1);
            await until(
              () => client._dispatcher.clientId !== undefined && client._dispatcher.clientId !== first,
              'a new Faye session',
              15_000,
            );
            await until(
              async () => (await server.bayeux.presence('/revoke/faye')).some((e) => e.clientId === client._dispatcher.clientId),
              'the subscription restored',
              15_000,
            );
            await server.bayeux.publish('/revoke/faye', 'after');
            await until(() => got.includes('after'), 'the delivery to the new session', 15_000);
          } finally {
            client.disconnect();
          }
        },
        { websocket: true, before: (app) => app.use(headerLogin(new Set())) },
      );
    });
  });
}
