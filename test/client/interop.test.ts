/** Our client against servers nobody here wrote: Faye's NodeAdapter and CometD's Node server. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import cometdServer from 'cometd-nodejs-server';
import faye from 'faye';
import { BayeuxClient } from '../../lib/client/index.js';
import { until } from '../helpers/server.js';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** Two clients on one server: one subscribes (with a wildcard), the other publishes. */
async function pubsub(
  url: string,
  transports: ('websocket' | 'long-polling')[],
): Promise<{ transport: string | undefined; got: unknown[] }> {
  const listener = new BayeuxClient(url, { transports });
  const publisher = new BayeuxClient(url, { transports });
  try {
    await Promise.all([listener.connect(), publisher.connect()]);
    const got: unknown[] = [];
    await listener.subscribe('/interop/*', (m) => got.push(m.data));
    for (let i = 0; i < 10; i++) await publisher.publish('/interop/chat', i);
    await until(() => got.length === 10, 'ten deliveries');
    return { transport: listener.transport, got };
  } finally {
    await Promise.all([listener.disconnect(), publisher.disconnect()]);
  }
}

describe('the client against Faye', () => {
  for (const transport of ['websocket', 'long-polling'] as const) {
    it(`publishes and receives over ${transport}`, async () => {
      const adapter = new faye.NodeAdapter({ mount: '/faye', timeout: 5 });
      const http = createServer();
      adapter.attach(http);
      const port = await listen(http);
      try {
        const result = await pubsub(
          `http://127.0.0.1:${port}/faye`,
          transport === 'websocket' ? ['websocket', 'long-polling'] : ['long-polling'],
        );
        assert.equal(result.transport, transport);
        assert.deepEqual(result.got, [...Array(10).keys()]);
      } finally {
        adapter.close();
        await close(http);
      }
    });
  }
});

describe("the client against CometD's Node server", () => {
  it('publishes and receives over long-polling (it has no WebSocket)', async () => {
    const cometd = cometdServer.createCometDServer({ timeout: 2000 });
    const http = createServer(cometd.handle);
    const port = await listen(http);
    try {
      const result = await pubsub(`http://127.0.0.1:${port}/cometd`, ['websocket', 'long-polling']);
      assert.equal(result.transport, 'long-polling');
      assert.deepEqual(result.got, [...Array(10).keys()]);
    } finally {
      cometd.close();
      await close(http);
    }
  });
});
