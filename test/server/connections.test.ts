import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Session } from '../../lib/engines/session.js';
import type { Message } from '../../lib/protocol/message.js';
import { type Connection, ConnectionRegistry, type Held } from '../../lib/server/connections.js';

/** One HTTP response's worth of connection: records what it was sent. */
class Response implements Connection {
  readonly ip = '127.0.0.1';
  readonly persistent = false;
  readonly writable = true;
  readonly written: string[][] = [];
  write(messages: string[]): void {
    this.written.push(messages);
  }
}

function setUp(): { registry: ConnectionRegistry; session: Session; hold: (connection: Response) => Held } {
  const registry = new ConnectionRegistry(
    (_session, reply) => JSON.stringify(reply),
    100,
    (err) => {
      throw err;
    },
  );
  const session = new Session({ id: 's1', user: undefined, userKey: undefined, ip: '127.0.0.1', transport: 'long-polling', data: {} }, 0);
  const hold = (connection: Response): Held => {
    const reply: Message = { channel: '/meta/connect', successful: true, clientId: 's1' };
    const held = registry.respond(connection, [], { session, reply, hold: 60_000 });
    assert.ok(held !== undefined, 'the connect is held');
    return held;
  };
  return { registry, session, hold };
}

describe('the connection registry', () => {
  // A Held may sit in V8's old generation: pointing at its response after the answer kept the request alive until a full GC.
  it('lets go of an answered connect’s response and reply', () => {
    const { registry, session, hold } = setUp();
    const first = new Response();
    const held = hold(first);
    // A second connect of the same session answers the first at once.
    const second = new Response();
    const next = hold(second);
    assert.equal(first.written.length, 1);
    assert.equal(held.done, true);
    assert.equal(held.connection, undefined);
    assert.equal(held.reply, undefined);
    registry.drop(session, { channel: '/meta/connect', successful: false, error: '402::Unknown client' });
    assert.match(second.written[0]?.at(-1) ?? '', /402::Unknown client/);
    assert.equal(next.connection, undefined);
    assert.equal(next.reply, undefined);
  });

  it('lets go of an abandoned connect’s response, and counts its IP free', () => {
    const { registry, hold } = setUp();
    const connection = new Response();
    const held = hold(connection);
    assert.deepEqual(registry.stats().perIp, { '127.0.0.1': 1 });
    held.abandon();
    assert.equal(held.connection, undefined);
    assert.deepEqual(registry.stats(), { held: 0, sockets: 0, perIp: {} });
    assert.equal(connection.written.length, 0);
  });
});
