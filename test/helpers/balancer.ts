/**
 * A TCP balancer as a deploy has one: each new connection goes, round-robin,
 * to a node whose `health()` is ok at that moment. `nodes` is read on every
 * connection, so nodes started later (a restart) join the rotation.
 */
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import type { TestServer } from './server.js';

export interface Balancer {
  url: string;
  close(): Promise<void>;
}

export async function healthBalancer(nodes: () => readonly TestServer[]): Promise<Balancer> {
  let next = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const healthy = nodes().filter((n) => n.bayeux.health().ok);
    const node = healthy[next++ % healthy.length];
    if (node === undefined) return client.destroy();
    const upstream = connect(node.port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      // Either side gone: the other goes too, as a proxy's connection would.
      s.on('close', () => (s === client ? upstream : client).destroy());
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/cometd`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
