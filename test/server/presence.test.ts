/** server.presence() and the join / leave events. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PresenceEvent } from '../../lib/index.js';
import { headerLogin, type TestUser } from '../helpers/login.js';
import { RawClient } from '../helpers/raw-client.js';
import { withServer } from '../helpers/server.js';

describe('presence', () => {
  it('lists the subscribers of a channel with their user key and data, and emits join and leave', async () => {
    await withServer<TestUser>(
      {
        messageACL: (client, message) => {
          if (message.channel === '/meta/handshake' && client !== undefined) client.data.name = String(message.ext?.name);
          return true;
        },
      },
      async (server) => {
        const events: string[] = [];
        const record = (kind: string) => (e: PresenceEvent<TestUser>) => events.push(`${kind} ${e.channel} ${e.user?.id ?? 'anon'}`);
        server.bayeux.on('join', record('join'));
        server.bayeux.on('leave', record('leave'));
        const ann = new RawClient(server.url, { 'x-user': 'ann' });
        await ann.handshake({ ext: { name: 'Ann' } });
        const guest = new RawClient(server.url);
        await guest.handshake({ ext: { name: 'Guest' } });
        await ann.subscribe(['/room/a', '/room/*']);
        await guest.subscribe('/room/a');
        const list = await server.bayeux.presence('/room/a');
        assert.deepEqual(
          list.map((e) => [e.clientId, e.userKey, e.data.name]).sort(),
          [
            [ann.clientId, 'id:ann', 'Ann'],
            [guest.clientId, undefined, 'Guest'],
          ].sort(),
        );
        // Exactly the pattern subscribed to: /room/* is its own entry.
        assert.deepEqual(
          (await server.bayeux.presence('/room/*')).map((e) => e.clientId),
          [ann.clientId],
        );
        assert.equal((await server.bayeux.presence('/room/a', { limit: 1 })).length, 1);

        await guest.unsubscribe('/room/a');
        await ann.disconnect();
        assert.deepEqual(await server.bayeux.presence('/room/a'), []);
        assert.deepEqual(await server.bayeux.presence('/room/*'), []);
        assert.deepEqual(events.slice(0, 3), ['join /room/a ann', 'join /room/* ann', 'join /room/a anon']);
        assert.deepEqual(events.slice(3, 4), ['leave /room/a anon']);
        assert.deepEqual(events.slice(4).sort(), ['leave /room/* ann', 'leave /room/a ann']);
      },
      { before: (app) => app.use(headerLogin(new Set())) },
    );
  });

  it('refuses an invalid channel or limit with a TypeError', async () => {
    await withServer({}, async (server) => {
      await assert.rejects(server.bayeux.presence('no-slash'), TypeError);
      await assert.rejects(server.bayeux.presence('/ok', { limit: 0 }), TypeError);
    });
  });
});
