/**
 * A client whose node is killed while it waits for more gets, from history,
 * what came after what it had received: each message once (issue: Faye with
 * jsforce's replay extension got the last message before the kill twice).
 * Third-party clients that do not drop copies themselves: Faye with jsforce's
 * `StreamingExtension.Replay`, CometD with its ack extension.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { AckExtension, CometD, type Message as CometDMessage, type Extension } from 'cometd';
import { adapt } from 'cometd-nodejs-client';
import faye from 'faye';
import { StreamingExtension } from 'jsforce/api/streaming';
import { type NodeProcess, startNodeProcess } from '../helpers/node-process.js';
import { dropNamespace, nodeEnv, redisMissing, testEngine, testNamespace } from '../helpers/redis.js';
import { callback, startServer, type TestServer, until } from '../helpers/server.js';

adapt();

const missing = await redisMissing();
const CHANNEL = '/event/Order__e';
const namespaces: string[] = [];
after(async () => {
  for (const ns of namespaces) await dropNamespace(ns);
});

/** What a client under test does: subscribe through a node, then hand over what it receives. */
interface Subscriber {
  received: number[];
  stop(): Promise<void>;
}

/** `server.stats()` of the node at `url` (its fixture serves them). */
async function statsOf(url: string): Promise<{ held: number; sessions: number }> {
  return (await (await fetch(url.replace(/\/cometd$/, '/stats'))).json()) as { held: number; sessions: number };
}

/**
 * Node A (a child process) serves the client, node B (in this process)
 * publishes. n: 0 is received, A is killed while the client's next poll is
 * held there, n: 1..10 are published, A starts again on the same port and the
 * client comes back by itself; n: 11 closes the run.
 */
async function killedWhileWaiting(subscribe: (url: string) => Promise<Subscriber>, ack: boolean): Promise<number[]> {
  const ns = testNamespace('once');
  namespaces.push(ns);
  const history = { channels: ['/event/**'], salesforce: true };
  const env = { ...nodeEnv(ns), HISTORY: JSON.stringify(history), ACK: ack ? '1' : '0' };
  let a: NodeProcess = await startNodeProcess(env);
  let b: TestServer | undefined;
  let client: Subscriber | undefined;
  try {
    b = await startServer({ engine: testEngine(ns), history, ack });
    client = await subscribe(a.url);
    const got = client.received;
    await b.bayeux.publish(CHANNEL, { payload: { n: 0 } });
    await until(() => got.length === 1, 'n: 0 to arrive');
    // The client received n: 0 and asks for more: its next poll is held on A.
    await until(async () => (await statsOf(a.url)).held === 1, 'the next poll to be held on A');
    await a.kill('SIGKILL');
    for (let n = 1; n <= 10; n++) await b.bayeux.publish(CHANNEL, { payload: { n } });
    a = await startNodeProcess({ ...env, PORT: new URL(a.url).port });
    await until(() => got.includes(10), 'n: 10 after the restart', 30_000);
    await b.bayeux.publish(CHANNEL, { payload: { n: 11 } });
    await until(() => got.includes(11), 'n: 11', 30_000);
    return [...got];
  } finally {
    await client?.stop();
    await a.kill('SIGKILL');
    await b?.close();
  }
}

const everything = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

describe('a client whose node was killed while it waited resumes after what it had', { skip: missing }, () => {
  it("Faye with jsforce's replay extension gets each message once", async () => {
    const got = await killedWhileWaiting(async (url) => {
      const client = new faye.Client(url, { timeout: 5, retry: 0.2 });
      client.disable('autodisconnect');
      client.addExtension(new StreamingExtension.Replay(CHANNEL, -1));
      const received: number[] = [];
      const subscription = client.subscribe(CHANNEL, (data) => received.push((data as { payload: { n: number } }).payload.n));
      await new Promise<void>((resolve, reject) => subscription.then(() => resolve(), reject));
      return {
        received,
        async stop() {
          // Faye retries a request that failed for ever: its disconnect must be answered before A goes.
          client.disconnect();
          await until(async () => (await statsOf(url)).sessions === 0, 'the Faye session to end');
        },
      };
    }, false);
    assert.deepEqual(got, everything);
  });

  it('CometD with its ack extension gets each message once', async () => {
    const got = await killedWhileWaiting(async (url) => {
      const cometd = new CometD();
      cometd.registerExtension('ack', new AckExtension() as Extension);
      cometd.configure({ url, logLevel: 'warn', maxBackoff: 500 });
      cometd.unregisterTransport('websocket');
      const shook = await callback<CometDMessage>((done) => cometd.handshake(done), 'the CometD handshake');
      assert.equal((shook.ext as { ack?: unknown } | undefined)?.ack, true);
      const received: number[] = [];
      await callback<CometDMessage>(
        (done) => cometd.subscribe(CHANNEL, (m) => received.push((m.data as { payload: { n: number } }).payload.n), done),
        'the CometD subscribe',
      );
      return {
        received,
        stop: () => callback((done) => cometd.disconnect(done), 'the CometD disconnect').then(() => undefined),
      };
    }, true);
    assert.deepEqual(got, everything);
  });
});
