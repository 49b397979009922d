/** `npm start` (example/server.js) as a process: its REDIS_URL mode and its shutdown order. */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { get } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it, type TestContext } from 'node:test';
import { RawClient } from '../helpers/raw-client.js';
import { dropNamespace, REDIS_URL, redisMissing, testNamespace } from '../helpers/redis.js';
import { freePort } from '../helpers/redis-server.js';
import { bounded, until } from '../helpers/server.js';
import { WsClient } from '../helpers/ws-client.js';

const missing = await redisMissing();

interface Example {
  child: ChildProcess;
  url: string;
  lines: string[];
}

/** The status of GET /healthz, on a connection of its own (the shutdown closes idle keep-alive ones). */
function healthStatus(cometdUrl: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(cometdUrl.replace(/\/cometd$/, '/healthz'), { agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

/** Starts example/server.js and waits for its banner. */
async function startExample(t: TestContext, env: Record<string, string>): Promise<Example> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(import.meta.dirname, '../../example/server.js')], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => lines.push(line));
  await until(() => lines.some((l) => l.includes('chat demo on')), 'the example to listen', 30_000);
  return { child, url: `http://127.0.0.1:${port}/cometd`, lines };
}

describe('the example server process', () => {
  it('on SIGTERM closes the Bayeux server first (answers the held connect, closes sockets 1001), then the HTTP server, and exits 0', async (t) => {
    const example = await startExample(t, { REDIS_URL: '' });
    assert.match(example.lines.join('\n'), /engine: memory/);
    const ws = await WsClient.open(example.url);
    await ws.handshake();
    await ws.connected(ws.connect(0));
    const held = ws.connect();
    // Frames of one socket are handled in order: once this reply is in, the connect is held.
    await ws.request({ channel: '/meta/subscribe', clientId: ws.clientId, subscription: '/chat/demo' });
    const exited = once(example.child, 'exit');
    example.child.kill('SIGTERM');
    const reply = await ws.connected(held);
    assert.equal(reply.successful, true);
    assert.equal(reply.advice?.reconnect, 'retry');
    await ws.waitFor(() => ws.closed !== undefined, 'the socket closed');
    assert.equal(ws.closed?.code, 1001);
    const [code] = await bounded(exited, 'the exit');
    assert.equal(code, 0);
    assert.ok(example.lines.includes('SIGTERM: closing the Bayeux server, then the HTTP server'));
  });

  it('runs on the Redis engine when REDIS_URL is set, and drains on SIGTERM', { skip: missing }, async (t) => {
    const namespace = testNamespace('example');
    t.after(() => dropNamespace(namespace));
    const example = await startExample(t, { REDIS_URL, BAYEUX_NAMESPACE: namespace });
    assert.match(example.lines.join('\n'), /engine: redis/);
    const client = new RawClient(example.url);
    assert.equal((await client.handshake()).successful, true);
    await client.connect(0);
    const held = client.connect();
    await until(async () => (await healthStatus(example.url)) === 200, 'the node to report healthy');
    const exited = once(example.child, 'exit');
    example.child.kill('SIGTERM');
    // The drain answers the held poll with advice to go elsewhere and the health check turns 503.
    const [reply] = await held;
    assert.equal(reply?.advice?.reconnect, 'retry');
    assert.equal(await healthStatus(example.url), 503);
    // No other node here: the session leaves, and the drain ends without waiting out its timeout.
    assert.equal((await client.disconnect()).successful, true);
    assert.equal((await bounded(exited, 'the exit'))[0], 0);
    assert.ok(example.lines.includes('SIGTERM: draining the Bayeux server, then the HTTP server'));
  });
});
