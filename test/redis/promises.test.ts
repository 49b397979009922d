/**
 * README "Scale-out with Redis" promises with no test of their own: session
 * limits across nodes, a move while messages are published, handoverTimeout
 * against an old owner that does not answer, and the ack extension.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { type BayeuxOptions, type Message, type RedisEngine, SessionLimitError } from '../../lib/index.js';
import { startNodeProcess } from '../helpers/node-process.js';
import { deliveries, RawClient } from '../helpers/raw-client.js';
import { dropNamespace, nodeEnv, redisMissing, testEngine, testNamespace } from '../helpers/redis.js';
import { startServer, type TestServer } from '../helpers/server.js';

const missing = await redisMissing();

async function nodes(t: TestContext, count: number, options: BayeuxOptions = {}, handoverTimeout?: number): Promise<TestServer[]> {
  const namespace = testNamespace('promises');
  const started: TestServer[] = [];
  t.after(async () => {
    await Promise.allSettled(started.map((n) => n.close()));
    await dropNamespace(namespace);
  });
  for (let i = 0; i < count; i++) {
    started.push(
      await startServer({
        timeout: 60_000,
        ...options,
        engine: testEngine(namespace, handoverTimeout === undefined ? {} : { handoverTimeout }),
      }),
    );
  }
  return started;
}

describe('README: Redis scale-out', { skip: missing }, () => {
  it('counts maxSessionsPerIp and maxSessions across nodes, refusing with 503 and BAYEUX_SESSION_LIMIT', async (t) => {
    const [a, b] = (await nodes(t, 2, { maxSessionsPerIp: 2, maxSessions: 3 })) as [TestServer, TestServer];
    assert.equal((await new RawClient(a.url).handshake()).successful, true);
    assert.equal((await new RawClient(b.url).handshake()).successful, true);
    const third = await new RawClient(a.url).handshake();
    assert.equal(third.successful, false);
    assert.equal(third.error, '503::Too many sessions');
    assert.equal(third.advice?.reconnect, 'handshake');
    // Another IP (as the engine sees it) may still have one more: the cluster-wide cap is 3.
    const engine = b.bayeux.engine as RedisEngine;
    const init = (ip: string) => ({
      id: `limit-${ip}`,
      user: undefined,
      userKey: undefined,
      ip,
      transport: 'long-polling' as const,
      data: {},
    });
    await engine.createSession(init('10.7.0.1'));
    await assert.rejects(engine.createSession(init('10.7.0.2')), (error: unknown) => {
      assert.ok(error instanceof SessionLimitError);
      assert.equal(error.code, 'BAYEUX_SESSION_LIMIT');
      return true;
    });
  });

  it('loses nothing and doubles nothing when a client moves between nodes while messages are published', async (t) => {
    const [a, b] = (await nodes(t, 2)) as [TestServer, TestServer];
    const client = new RawClient(a.url);
    await client.handshake();
    await client.subscribe('/move/live');
    await client.connect(0);
    const got: number[] = [];
    let published = 0;
    const publishing = (async () => {
      for (; published < 200; published++) await a.bayeux.publish('/move/live', published);
    })();
    // Poll on A, then move to B half-way through, then back to A: each move is a hand-over under traffic.
    const via = new RawClient(b.url);
    via.clientId = client.clientId;
    const back = new RawClient(a.url);
    back.clientId = client.clientId;
    let current = client;
    while (published < 200) {
      if (published > 60 && current === client) current = via;
      else if (published > 140 && current === via) current = back;
      got.push(...deliveries(await current.connect(0)).map((m) => m.data as number));
    }
    await publishing;
    await Promise.all([a, b].map((n) => (n.bayeux.engine as RedisEngine).sync()));
    got.push(...deliveries(await current.connect(0)).map((m) => m.data as number));
    assert.deepEqual(got, [...Array(200).keys()]);
  });

  it('answers at once a poll that moves the session, on a channel nobody published to', { timeout: 120_000 }, async (t) => {
    // Half the handover timeout is what an old owner may wait for a message: 30 s, far above any move's time.
    const servers = await nodes(t, 3, {}, 60_000);
    const first = servers[0] as TestServer;
    const client = new RawClient(first.url);
    await client.handshake();
    await client.subscribe('/move/quiet');
    await client.connect(0);
    let at = 0;
    for (let i = 1; i <= 6; i++) {
      at = i % 3;
      const moved = new RawClient((servers[at] as TestServer).url);
      moved.clientId = client.clientId;
      const started = performance.now();
      const reply = (await moved.connect(0)).find((m) => m.channel === '/meta/connect');
      const waited = performance.now() - started;
      assert.equal(reply?.successful, true);
      assert.ok(waited < 15_000, `the move to node ${at} took ${waited.toFixed(0)} ms: its old owner waited for a message that never came`);
    }
    // Nor does anything left of the moves keep sync() waiting for a number that never comes.
    const syncing = performance.now();
    await Promise.all(servers.map((n) => (n.bayeux.engine as RedisEngine).sync()));
    const synced = performance.now() - syncing;
    assert.ok(synced < 15_000, `sync() took ${synced.toFixed(0)} ms after the moves`);
    await first.bayeux.publish('/move/quiet', 'still here');
    await Promise.all(servers.map((n) => (n.bayeux.engine as RedisEngine).sync()));
    const last = new RawClient((servers[at] as TestServer).url);
    last.clientId = client.clientId;
    assert.deepEqual(
      deliveries(await last.connect(0)).map((m) => m.data),
      ['still here'],
    );
  });

  it('stops waiting for an old owner that does not answer after handoverTimeout, and serves the client', async (t) => {
    const namespace = testNamespace('handover');
    const child = await startNodeProcess({ ...nodeEnv(namespace) });
    let node: TestServer | undefined;
    t.after(async () => {
      child.child.kill('SIGCONT');
      await child.kill('SIGKILL');
      await node?.close();
      await dropNamespace(namespace);
    });
    node = await startServer({ timeout: 60_000, engine: testEngine(namespace, { handoverTimeout: 500 }) });
    const client = new RawClient(child.url);
    await client.handshake();
    await client.subscribe('/handover/a');
    // The old owner is alive in Redis (its heartbeat has not expired) but answers nothing.
    child.child.kill('SIGSTOP');
    const moved = new RawClient(node.url);
    moved.clientId = client.clientId;
    const started = performance.now();
    const [reply] = await moved.connect(0);
    const waited = performance.now() - started;
    assert.equal(reply?.successful, true);
    assert.ok(waited >= 499, `served after ${waited.toFixed(0)} ms, before handoverTimeout`);
    await node.bayeux.publish('/handover/a', 'after');
    await (node.bayeux.engine as RedisEngine).sync();
    assert.deepEqual(
      deliveries(await moved.connect(0)).map((m) => m.data),
      ['after'],
    );
  });

  it('re-delivers unacknowledged messages with the ack extension, also after a move to another node', async (t) => {
    const [a, b] = (await nodes(t, 2, { ack: true })) as [TestServer, TestServer];
    const ackConnect = async (client: RawClient, ack: number): Promise<Message[]> =>
      (
        await client.send({
          channel: '/meta/connect',
          clientId: client.clientId,
          connectionType: 'long-polling',
          id: client.id(),
          advice: { timeout: 0 },
          ext: { ack },
        })
      ).messages;
    const data = (messages: Message[]) => deliveries(messages).map((m) => m.data);
    const batchOf = (messages: Message[]) => messages.find((m) => m.channel === '/meta/connect')?.ext?.ack as number;
    const client = new RawClient(a.url);
    assert.equal((await client.handshake({ ext: { ack: true } })).ext?.ack, true);
    await client.subscribe('/ack/redis');
    await ackConnect(client, 0);
    for (let i = 0; i < 3; i++) await a.bayeux.publish('/ack/redis', i);
    await (a.bayeux.engine as RedisEngine).sync();
    const first = await ackConnect(client, 0);
    assert.deepEqual(data(first), [0, 1, 2]);
    // The reply was "lost": the client moves to B and acknowledges only the batch before.
    const moved = new RawClient(b.url);
    moved.clientId = client.clientId;
    const again = await ackConnect(moved, batchOf(first) - 1);
    assert.deepEqual(data(again), [0, 1, 2]);
    const done = await ackConnect(moved, batchOf(again));
    assert.deepEqual(data(done), []);
  });
});

describe('README: Redis losing keys', { skip: missing }, () => {
  it('a session whose keys Redis lost is refused with 402 and handshake advice; the client joins again and receives', async (t) => {
    const namespace = testNamespace('lostkeys');
    const started: TestServer[] = [];
    t.after(async () => {
      await Promise.allSettled(started.map((n) => n.close()));
      await dropNamespace(namespace);
    });
    for (let i = 0; i < 2; i++) {
      started.push(await startServer({ timeout: 60_000, engine: testEngine(namespace) }));
    }
    const [a, b] = started as [TestServer, TestServer];
    const client = new RawClient(a.url);
    assert.equal((await client.handshake()).successful, true);
    assert.equal((await client.subscribe('/lost/keys')).successful, true);
    // An operator's FLUSHDB or an eviction, limited here to this test's namespace.
    await dropNamespace(namespace);
    const elsewhere = new RawClient(b.url);
    elsewhere.clientId = client.clientId;
    const [reply] = (await elsewhere.connect(0)).filter((m) => m.channel === '/meta/connect');
    assert.equal(reply?.successful, false);
    assert.equal(reply?.error, '402::Unknown client');
    assert.equal(reply?.advice?.reconnect, 'handshake');
    assert.equal((await elsewhere.handshake()).successful, true);
    assert.equal((await elsewhere.subscribe('/lost/keys')).successful, true);
    const arriving = elsewhere.connect();
    await a.bayeux.publish('/lost/keys', { after: 'the loss' });
    const got = deliveries(await arriving);
    assert.deepEqual(
      got.map((m: Message) => m.data),
      [{ after: 'the loss' }],
    );
  });
});
