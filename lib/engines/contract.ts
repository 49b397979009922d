/**
 * The contract every engine passes, as a `node:test` suite: call
 * `engineContract(name, make)` from a test file. `make` returns a fresh engine
 * each time; the suite opens it with a recording host and closes it afterwards.
 * Exported by `express-bayeux/engine` so a third-party engine runs it too.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { Engine, EngineHost, EngineLimits, Envelope } from './engine.js';
import { SessionLimitError } from './engine.js';
import type { ClientInfo, DisconnectReason, Session } from './session.js';

/** Rejects when `promise` has not settled within `ms`: a broken engine fails the suite, never hangs it. */
function bounded<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** A host that records what the engine tells the server. */
export class RecordingHost extends EventEmitter implements EngineHost {
  readonly logger = { debug() {}, info() {}, warn() {}, error() {} };
  readonly woken: string[] = [];
  readonly dropped: [string, DisconnectReason][] = [];
  readonly endings: [string, DisconnectReason][] = [];
  readonly locals: Envelope[] = [];
  readonly overflows: [string, number][] = [];

  constructor(readonly limits: EngineLimits) {
    super();
  }

  messagesQueued(session: Session): void {
    this.woken.push(session.id);
  }
  sessionDropped(session: Session, reason: DisconnectReason): void {
    this.dropped.push([session.id, reason]);
  }
  readonly moves: string[] = [];
  sessionMovedAway(session: Session): void {
    this.moves.push(session.id);
  }
  sessionEnded(client: ClientInfo, reason: DisconnectReason): void {
    this.endings.push([client.id, reason]);
    this.emit('ended', client.id, reason);
  }
  broadcastArrived(envelope: Envelope): void {
    this.locals.push(envelope);
    this.emit('local', envelope);
  }
  messagesDropped(client: ClientInfo, dropped: number): void {
    this.overflows.push([client.id, dropped]);
  }
}

export const CONTRACT_LIMITS: EngineLimits = {
  maxQueue: 100,
  queuePolicy: 'disconnect',
  maxInterval: 60_000,
  maxSessions: 1000,
  maxSessionsPerIp: 1000,
};

function envelope(channel: string, data: unknown): Envelope {
  const message = { channel, data };
  return { channel, json: JSON.stringify(message), message };
}

function newId(): string {
  return randomBytes(18).toString('base64url');
}

/** Options of `engineContract`. */
export interface ContractOptions {
  /**
   * Resolves once messages in flight inside the engine have arrived (e.g. a
   * round trip through a shared store); the default resolves at once, for
   * engines that route synchronously.
   */
  settle?: () => Promise<void>;
}

/** Any engine: written for every `User`, it stores the users these tests hand it. */
type AnyEngine = Engine<unknown>;

/** An engine the suite opened, and the host recording what it said. */
interface Opened {
  engine: AnyEngine;
  host: RecordingHost;
}

/** What every group of cases uses: fresh engines, sessions, the shared engine, settling. */
interface Harness {
  open(limits?: Partial<EngineLimits>): Promise<Opened>;
  session(engine: AnyEngine, ip?: string): Promise<Session>;
  shared(): Opened;
  settle(): Promise<void>;
}

/** Sessions: created, found, claimed, destroyed, expired. */
function sessionsCases(h: Harness): void {
  it('creates sessions and finds them by clientId', async () => {
    const s = await h.session(h.shared().engine);
    const found = await h.shared().engine.session(s.id);
    assert.equal(found?.id, s.id);
    assert.equal(found?.ip, '10.0.0.1');
    assert.equal(await h.shared().engine.session('no-such-client'), undefined);
  });

  it('claims a session for delivery on this node, keeping its queue', async () => {
    const { engine } = h.shared();
    const s = await h.session(engine);
    await engine.subscribe(s, ['/c0']);
    await engine.publish(envelope('/c0', 'before'));
    await h.settle();
    const local = await engine.claim((await engine.session(s.id)) as Session);
    assert.equal(local.id, s.id);
    assert.deepEqual(local.take(), ['{"channel":"/c0","data":"before"}']);
    await engine.publish(envelope('/c0', 'after'));
    await h.settle();
    assert.deepEqual(local.take(), ['{"channel":"/c0","data":"after"}']);
  });

  it('keeps the user and handshake data with the session', async () => {
    const s = await h.shared().engine.createSession({
      id: newId(),
      user: { id: 7, name: 'ann' },
      userKey: 'id:7',
      ip: '10.0.0.9',
      transport: 'websocket',
      data: { role: 'admin' },
    });
    const found = await h.shared().engine.session(s.id);
    assert.deepEqual(found?.user, { id: 7, name: 'ann' });
    assert.equal(found?.userKey, 'id:7');
    assert.deepEqual(found?.data, { role: 'admin' });
  });

  it('destroys a session once: dropped, ended, gone from routing', async () => {
    const { engine, host } = h.shared();
    const s = await h.session(engine);
    await engine.subscribe(s, ['/c6']);
    assert.equal(await engine.destroySession(s.id, 'client'), true);
    assert.equal(await engine.destroySession(s.id, 'client'), false);
    assert.equal(await engine.session(s.id), undefined);
    assert.deepEqual(
      host.endings.filter(([id]) => id === s.id),
      [[s.id, 'client']],
    );
    assert.deepEqual(
      host.dropped.filter(([id]) => id === s.id),
      [[s.id, 'client']],
    );
    await engine.publish(envelope('/c6', 1));
    await h.settle();
    assert.equal(s.queue.length, 0);
  });

  it('expires a session without connections after maxInterval, and not one with a connection', async () => {
    const { engine, host } = await h.open({ maxInterval: 50 });
    const idle = await h.session(engine);
    const busy = await h.session(engine);
    busy.connections = 1;
    // The engine's timers do not keep a process alive; the bound's timer does, while it waits.
    const [id, reason] = (await bounded(once(host, 'ended'), 'the expiry')) as [string, DisconnectReason];
    assert.equal(id, idle.id);
    assert.equal(reason, 'expired');
    assert.equal(await engine.session(idle.id), undefined);
    assert.equal((await engine.session(busy.id))?.id, busy.id);
    busy.connections = 0;
    await engine.destroySession(busy.id, 'server');
  });
}

/** Subscriptions and routing: exact and wildcard matches, order, local subscribers, wake-ups, pushes. */
function routingCases(h: Harness): void {
  it('routes a publish to exact and wildcard subscribers, each once', async () => {
    const { engine } = h.shared();
    const exact = await h.session(engine);
    const star = await h.session(engine);
    const both = await h.session(engine);
    const none = await h.session(engine);
    assert.deepEqual(await engine.subscribe(exact, ['/c1/a']), ['/c1/a']);
    await engine.subscribe(star, ['/c1/*']);
    await engine.subscribe(both, ['/c1/a', '/c1/*', '/c1/**', '/**']);
    await engine.subscribe(none, ['/c1/b']);
    await engine.publish(envelope('/c1/a', 1));
    await h.settle();
    for (const s of [exact, star, both]) assert.deepEqual((await engine.session(s.id))?.take(), ['{"channel":"/c1/a","data":1}']);
    assert.deepEqual((await engine.session(none.id))?.take(), []);
  });

  it('reports which subscriptions were added and removed', async () => {
    const { engine } = h.shared();
    const s = await h.session(engine);
    assert.deepEqual(await engine.subscribe(s, ['/c2/a', '/c2/b']), ['/c2/a', '/c2/b']);
    assert.deepEqual(await engine.subscribe(s, ['/c2/a', '/c2/c']), ['/c2/c']);
    assert.deepEqual(await engine.unsubscribe(s, ['/c2/a', '/c2/x']), ['/c2/a']);
    await engine.publish(envelope('/c2/a', 'gone'));
    await engine.publish(envelope('/c2/b', 'kept'));
    await h.settle();
    assert.deepEqual((await engine.session(s.id))?.take(), ['{"channel":"/c2/b","data":"kept"}']);
  });

  it('keeps publish order for each subscriber', async () => {
    const { engine } = h.shared();
    const s = await h.session(engine);
    await engine.subscribe(s, ['/c3/**']);
    for (let i = 0; i < 50; i++) await engine.publish(envelope(`/c3/${i % 3}`, i));
    await h.settle();
    const data = (await engine.session(s.id))?.take().map((j) => (JSON.parse(j) as { data: number }).data);
    assert.deepEqual(
      data,
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  it('hands every publish to the local subscribers of the node', async () => {
    const { engine, host } = h.shared();
    const seen = once(host, 'local');
    await engine.publish(envelope('/c4/local', 'x'));
    const [local] = (await seen) as [Envelope];
    assert.equal(local.channel, '/c4/local');
    assert.deepEqual(local.message, { channel: '/c4/local', data: 'x' });
  });

  it('wakes a session when its queue becomes non-empty, once', async () => {
    const { engine, host } = h.shared();
    const s = await h.session(engine);
    await engine.subscribe(s, ['/c5']);
    const before = host.woken.filter((id) => id === s.id).length;
    await engine.publish(envelope('/c5', 1));
    await engine.publish(envelope('/c5', 2));
    await h.settle();
    assert.equal(host.woken.filter((id) => id === s.id).length, before + 1);
  });

  it('pushes to one session and reports unknown clients', async () => {
    const { engine } = h.shared();
    const s = await h.session(engine);
    assert.equal(await engine.push(s.id, envelope('/service/x', 'for you')), true);
    await h.settle();
    assert.deepEqual((await engine.session(s.id))?.take(), ['{"channel":"/service/x","data":"for you"}']);
    assert.equal(await engine.push('no-such-client', envelope('/x', 1)), false);
  });
}

/** What a full queue does under each `queuePolicy`. */
function queuesCases(h: Harness): void {
  /** A session with a queue of 3 under `policy`, sent `published` messages on `channel`. */
  async function overfill(policy: EngineLimits['queuePolicy'], channel: string, published: number) {
    const { engine, host } = await h.open({ maxQueue: 3, queuePolicy: policy });
    const s = await h.session(engine);
    await engine.subscribe(s, [channel]);
    for (let i = 0; i < published; i++) await engine.publish(envelope(channel, i));
    await h.settle();
    return { engine, host, s };
  }

  it('ends a session whose queue overflows under the disconnect policy', async () => {
    const { engine, host, s } = await overfill('disconnect', '/c7', 4);
    assert.deepEqual(host.endings, [[s.id, 'overflow']]);
    assert.equal(await engine.session(s.id), undefined);
  });

  it('drops the oldest messages under the drop-oldest policy, and says so once per episode (until the next delivery)', async () => {
    const { engine, host, s } = await overfill('drop-oldest', '/c8', 6);
    const live = await engine.session(s.id);
    assert.equal(live?.dropped, 3);
    assert.deepEqual(
      live?.take().map((j) => (JSON.parse(j) as { data: number }).data),
      [3, 4, 5],
    );
    assert.deepEqual(host.overflows, [[s.id, 1]]);
    // A delivery ends the episode: the next full queue is reported again.
    for (let i = 6; i < 10; i++) await engine.publish(envelope('/c8', i));
    await h.settle();
    assert.equal(live?.dropped, 1);
    assert.deepEqual(host.overflows, [
      [s.id, 1],
      [s.id, 1],
    ]);
  });
}

/** Session limits and signing a user out. */
function limitsCases(h: Harness): void {
  it('refuses sessions past maxSessions and maxSessionsPerIp', async () => {
    const { engine } = await h.open({ maxSessions: 3, maxSessionsPerIp: 2 });
    await h.session(engine, '10.1.1.1');
    await h.session(engine, '10.1.1.1');
    await assert.rejects(h.session(engine, '10.1.1.1'), SessionLimitError);
    const third = await h.session(engine, '10.1.1.2');
    await assert.rejects(h.session(engine, '10.1.1.3'), SessionLimitError);
    await engine.destroySession(third.id, 'client');
    await h.session(engine, '10.1.1.3');
    assert.equal(await engine.countSessions(), 3);
  });

  it('ends every session of one user, and only theirs, on destroyUserSessions', async () => {
    const { engine, host } = await h.open();
    const userSession = (userKey: string) =>
      engine.createSession({ id: newId(), user: { id: userKey }, userKey, ip: '10.2.2.2', transport: 'long-polling', data: {} });
    const ann1 = await userSession('id:ann');
    const ann2 = await userSession('id:ann');
    const bob = await userSession('id:bob');
    assert.equal(await engine.destroyUserSessions('id:ann', 'revoked'), 2);
    await h.settle();
    assert.deepEqual(
      host.endings.map(([id, reason]) => [id, reason]).sort(),
      [
        [ann1.id, 'revoked'],
        [ann2.id, 'revoked'],
      ].sort(),
    );
    assert.equal(await engine.session(ann1.id), undefined);
    assert.equal((await engine.session(bob.id))?.id, bob.id);
    assert.equal(await engine.destroyUserSessions('id:ann', 'revoked'), 0);
  });
}

/** Presence and rate-limit buckets. */
function presenceCases(h: Harness): void {
  it('lists the subscribers of exactly a channel as presence, up to a limit', async () => {
    const { engine } = await h.open();
    const ann = await engine.createSession({
      id: newId(),
      user: { id: 1 },
      userKey: 'id:1',
      ip: '10.3.3.3',
      transport: 'websocket',
      data: { nick: 'ann' },
    });
    const bob = await h.session(engine);
    const star = await h.session(engine);
    await engine.subscribe(ann, ['/p/room']);
    await engine.subscribe(bob, ['/p/room', '/p/other']);
    await engine.subscribe(star, ['/p/*']);
    await h.settle();
    const present = await engine.presence('/p/room', 10);
    assert.deepEqual(present.map((entry) => entry.clientId).sort(), [ann.id, bob.id].sort());
    assert.deepEqual(
      present.find((entry) => entry.clientId === ann.id),
      { clientId: ann.id, userKey: 'id:1', data: { nick: 'ann' } },
    );
    assert.deepEqual(
      (await engine.presence('/p/*', 10)).map((entry) => entry.clientId),
      [star.id],
    );
    assert.equal((await engine.presence('/p/room', 1)).length, 1);
    await engine.unsubscribe(bob, ['/p/room']);
    await engine.destroySession(ann.id, 'client');
    await h.settle();
    assert.deepEqual(await engine.presence('/p/room', 10), []);
  });

  it('takes rate-limit tokens from every bucket at once, refills them at their rate, and keeps buckets apart', async () => {
    const { engine } = h.shared();
    const key = newId();
    const session = { key: `s:${key}`, rate: 10, burst: 3 };
    const ip = { key: `i:${key}`, rate: 1000, burst: 100 };
    const t0 = 1_000_000;
    assert.equal((await engine.takeTokens([session, ip], 2, t0)).granted, 2);
    const short = await engine.takeTokens([session, ip], 5, t0);
    assert.equal(short.granted, 1, 'one token left in the session bucket');
    assert.equal(short.limitedBy, 0, 'the first bucket ran out');
    assert.equal((await engine.takeTokens([session], 1, t0)).granted, 0);
    // 10 tokens a second: 100 ms later one is back, never more than the burst.
    assert.equal((await engine.takeTokens([session], 5, t0 + 100)).granted, 1);
    assert.equal((await engine.takeTokens([session], 5, t0 + 60_000)).granted, 3);
    const other = { key: `s:other-${key}`, rate: 10, burst: 3 };
    assert.equal((await engine.takeTokens([other], 3, t0)).granted, 3);
  });
}

/** Defines the contract suite for the engine `make` creates (call it at the top level of a test file). */
export function engineContract(name: string, make: () => AnyEngine | Promise<AnyEngine>, options: ContractOptions = {}): void {
  const settle = options.settle ?? (async () => {});
  describe(`engine contract: ${name}`, () => {
    const opened: AnyEngine[] = [];
    let shared: Opened | undefined;
    const h: Harness = {
      async open(limits = {}) {
        const engine = await make();
        const host = new RecordingHost({ ...CONTRACT_LIMITS, ...limits });
        await engine.open(host);
        opened.push(engine);
        return { engine, host };
      },
      session(engine, ip = '10.0.0.1') {
        return engine.createSession({ id: newId(), user: undefined, userKey: undefined, ip, transport: 'long-polling', data: {} });
      },
      shared() {
        if (shared === undefined) throw new Error('engine contract: the shared engine is not open yet');
        return shared;
      },
      settle,
    };
    before(async () => {
      shared = await h.open();
    });
    after(async () => {
      for (const engine of opened) await engine.close();
    });
    sessionsCases(h);
    routingCases(h);
    queuesCases(h);
    limitsCases(h);
    presenceCases(h);
  });
}
