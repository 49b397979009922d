/**
 * The Redis engine when its Redis fails: down at boot, killed and restarted,
 * frozen by CLIENT PAUSE. Every test runs its own redis-server on a free port.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { type Logger, type Message, type RedisEngine, redisEngine } from '../../lib/index.js';
import { deliveries, RawClient } from '../helpers/raw-client.js';
import { binaryMissing, freePort, startRedis } from '../helpers/redis-server.js';
import { startServer, type TestServer, until } from '../helpers/server.js';
import { WsClient } from '../helpers/ws-client.js';

const missing = binaryMissing('redis-server');

/** A logger that keeps every line, to count them. */
function recorder(): { logger: Logger; lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      lines.push({ level, msg: msg ?? String(obj) });
    };
  return { logger: { debug: () => {}, info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

/** Sends one message; the reply on its channel and how long it took. */
async function timed(client: RawClient, message: Message): Promise<{ reply: Message; ms: number; status: number }> {
  const started = Date.now();
  const res = await client.send(message);
  const reply = res.messages.find((m) => m.channel === message.channel);
  if (reply === undefined) throw new Error(`no reply to ${message.channel}: ${res.status} ${res.text}`);
  return { reply, ms: Date.now() - started, status: res.status };
}

function assertUnavailable(reply: Message): void {
  assert.equal(reply.successful, false);
  assert.match(String(reply.error), /^503::/);
  assert.equal(reply.advice?.reconnect, 'retry');
  assert.ok(typeof reply.advice?.interval === 'number' && reply.advice.interval > 0);
}

const handshake: Message = { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] };
// The bound under test; the assertions allow far more, for a loaded machine.
const BOUND = 300;
const GENEROUS = 5000;

describe('the Redis engine when Redis fails', { skip: missing }, () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('starts while Redis is down, answers 503 with retry advice in time, serves once Redis answers, logs each change once', async () => {
    const port = await freePort();
    const log = recorder();
    const server = await startServer({
      logger: log.logger,
      engine: redisEngine({ url: `redis://127.0.0.1:${port}`, commandTimeout: BOUND }),
    });
    cleanup.push(() => server.close());
    assert.equal(server.bayeux.health().ok, false);
    assert.equal(server.bayeux.health().status, 'down');
    for (let i = 0; i < 3; i++) {
      const { reply, ms, status } = await timed(new RawClient(server.url), handshake);
      assert.equal(status, 200);
      assertUnavailable(reply);
      assert.ok(ms < GENEROUS, `answered in ${ms} ms`);
    }
    await assert.rejects(server.bayeux.publish('/boot/a', 1), { code: 'BAYEUX_ENGINE_UNAVAILABLE' });
    const redis = await startRedis(port);
    cleanup.push(() => redis.kill());
    await until(() => server.bayeux.health().ok, 'the engine to connect', 20_000);
    const client = new RawClient(server.url);
    assert.equal((await client.handshake()).successful, true);
    assert.equal((await client.subscribe('/boot/a')).successful, true);
    await server.bayeux.publish('/boot/a', 'up');
    await (server.bayeux.engine as RedisEngine).sync();
    assert.deepEqual(
      deliveries(await client.connect(0)).map((m) => m.data),
      ['up'],
    );
    // Many ioredis retries, one line down and one line back; no stack traces, no errors.
    assert.deepEqual(
      log.lines.map((l) => l.level),
      ['warn', 'info'],
      JSON.stringify(log.lines),
    );
    assert.match(log.lines[0]?.msg ?? '', /Redis unavailable/);
  });

  it('answers every request in time while Redis is killed, piles nothing up, and resumes after a restart', async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.kill());
    const log = recorder();
    const server = await startServer({
      logger: log.logger,
      timeout: 1000,
      engine: redisEngine({ url: redis.url, namespace: 'outage', commandTimeout: BOUND }),
    });
    cleanup.push(() => server.close());
    const subscriber = new RawClient(server.url);
    await subscriber.handshake();
    await subscriber.subscribe('/outage/a');
    await subscriber.connect(0);
    const held = subscriber.connect();
    await until(async () => (await server.bayeux.stats()).held === 1, 'the held connect');
    await redis.kill();
    await until(() => !server.bayeux.health().ok, 'the engine to notice');
    // The poll held before the outage is answered as usual when its time is up.
    const [heldReply] = await held;
    assert.equal(heldReply?.successful, true);
    // Twenty clients retry as fast as they can for a while: each answer comes within the bound.
    const clients = Array.from({ length: 20 }, () => new RawClient(server.url));
    let answered = 0;
    let slowest = 0;
    await Promise.all(
      clients.map(async (client) => {
        for (let i = 0; i < 10; i++) {
          const { reply, ms } = await timed(
            client,
            i % 2 === 0 ? handshake : { channel: '/meta/connect', clientId: subscriber.clientId, connectionType: 'long-polling' },
          );
          assertUnavailable(reply);
          slowest = Math.max(slowest, ms);
          answered++;
        }
      }),
    );
    assert.equal(answered, 200);
    assert.ok(slowest < GENEROUS, `slowest answer ${slowest} ms`);
    // Sockets follow the clients (fetch keeps them alive and reuses them), not the 200 requests they sent.
    const sockets = await new Promise<number>((resolve, reject) =>
      server.http.getConnections((err, n) => (err ? reject(err) : resolve(n))),
    );
    assert.ok(sockets <= clients.length * 2, `${sockets} open sockets`);
    await redis.restart();
    await until(() => server.bayeux.health().ok, 'the engine to reconnect', 20_000);
    assert.equal((await server.bayeux.stats()).held, 0);
    // Redis came back empty: the old session is gone and the client is told to handshake again.
    const [gone] = await subscriber.connect(0);
    assert.equal(gone?.successful, false);
    assert.equal(gone?.advice?.reconnect, 'handshake');
    const again = new RawClient(server.url);
    await again.handshake();
    await again.subscribe('/outage/a');
    await server.bayeux.publish('/outage/a', 'after');
    await (server.bayeux.engine as RedisEngine).sync();
    assert.deepEqual(
      deliveries(await again.connect(0)).map((m) => m.data),
      ['after'],
    );
    assert.deepEqual(
      log.lines.map((l) => l.level),
      ['info', 'warn', 'info'],
      JSON.stringify(log.lines),
    );
  });

  it('answers in time while Redis is frozen (CLIENT PAUSE) and serves again when it thaws', async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.kill());
    const server = await startServer({ engine: redisEngine({ url: redis.url, namespace: 'frozen', commandTimeout: BOUND }) });
    cleanup.push(() => server.close());
    const client = new RawClient(server.url);
    await client.handshake();
    await client.subscribe('/frozen/a');
    const admin = new Redis(redis.url);
    cleanup.push(async () => admin.disconnect());
    // Paused for a while (CLIENT UNPAUSE would itself wait behind the pause).
    await admin.client('PAUSE', 1500, 'ALL');
    const first = await timed(client, { channel: '/frozen/a', clientId: client.clientId, data: 'lost?' });
    assertUnavailable(first.reply);
    assert.ok(first.ms < GENEROUS, `answered in ${first.ms} ms`);
    // Known down now: the next ones are refused at once, without another command sent to the frozen Redis.
    const second = await timed(client, { channel: '/frozen/a', clientId: client.clientId, data: 'refused' });
    assertUnavailable(second.reply);
    assert.equal(server.bayeux.health().status, 'down');
    await until(() => server.bayeux.health().ok, 'the engine to see Redis answer again', 20_000);
    assert.equal((await client.publish('/frozen/a', 'thawed')).successful, true);
    await (server.bayeux.engine as RedisEngine).sync();
    const got = deliveries(await client.connect(0)).map((m) => m.data);
    assert.equal(got.at(-1), 'thawed');
  });

  it('rejects a commandTimeout that is not a positive number', () => {
    assert.throws(() => redisEngine({ commandTimeout: 0 }), /"commandTimeout" must be a positive number/);
  });

  it('answers WebSocket messages with 503 and retry advice while Redis is down, and serves them again after', async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.kill());
    const server = await startServer(
      { engine: redisEngine({ url: redis.url, namespace: 'ws', commandTimeout: BOUND }) },
      { websocket: true },
    );
    cleanup.push(() => server.close());
    const socket = await WsClient.open(server.url);
    cleanup.push(async () => socket.socket.terminate());
    assert.equal((await socket.handshake({ supportedConnectionTypes: ['websocket'] })).successful, true);
    await redis.kill();
    await until(() => !server.bayeux.health().ok, 'the engine to notice');
    const refused = await socket.request({ channel: '/ws/a', clientId: socket.clientId, data: 1 });
    assertUnavailable(refused);
    await redis.restart();
    await until(() => server.bayeux.health().ok, 'the engine to reconnect', 20_000);
    // The socket stayed open through the outage; Redis came back empty, so the session is gone.
    assert.equal(socket.closed, undefined);
    const again = await socket.request({ channel: '/ws/a', clientId: socket.clientId, data: 2 });
    assert.equal(again.successful, false);
    assert.equal(again.advice?.reconnect, 'handshake');
  });

  it('closes within a bounded time while Redis is down', async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.kill());
    const server: TestServer = await startServer({ engine: redisEngine({ url: redis.url, namespace: 'close', commandTimeout: BOUND }) });
    const client = new RawClient(server.url);
    await client.handshake();
    await client.connect(0);
    const held = client.connect().catch(() => []);
    await until(async () => (await server.bayeux.stats()).held === 1, 'the held connect');
    await redis.kill();
    await until(() => !server.bayeux.health().ok, 'the engine to notice');
    const started = Date.now();
    await server.close();
    assert.ok(Date.now() - started < GENEROUS, `closed in ${Date.now() - started} ms`);
    await held;
    assert.equal(server.bayeux.health().status, 'closed');
  });
});
