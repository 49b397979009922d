/**
 * Client churn against one server: clients handshake, subscribe, publish,
 * poll, and then either disconnect or vanish without a word, and new ones
 * take their place. Shared by `npm run soak` and the short soak test.
 */
import { Agent, request } from 'node:http';

export interface ChurnOptions {
  /** Endpoint URL, e.g. http://127.0.0.1:8080/cometd */
  url: string;
  /** Clients alive at the same time. */
  clients: number;
  /** Life cycles each client slot goes through. */
  cycles: number;
  /** Share of clients that vanish instead of disconnecting (0..1). */
  vanish?: number;
}

interface Reply {
  channel: string;
  successful?: boolean;
  clientId?: string;
}

/** Runs the churn; resolves with counts of what happened. */
export async function churn(options: ChurnOptions): Promise<{ sessions: number; vanished: number; published: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const url = new URL(options.url);
  const post = (messages: object[]): Promise<Reply[]> =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify(messages);
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()) as Reply[]));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  let sessions = 0;
  let vanished = 0;
  let published = 0;
  const vanish = options.vanish ?? 0.5;
  const slot = async (n: number): Promise<void> => {
    for (let cycle = 0; cycle < options.cycles; cycle++) {
      const [hs] = await post([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }]);
      const clientId = hs?.clientId;
      if (hs?.successful !== true || clientId === undefined) continue;
      sessions++;
      const room = `/churn/${(n + cycle) % 10}`;
      await post([
        { channel: '/meta/subscribe', clientId, subscription: [room, '/churn/**'] },
        { channel: room, clientId, data: { n, cycle } },
        { channel: '/meta/connect', clientId, connectionType: 'long-polling', advice: { timeout: 0 } },
      ]);
      published++;
      await post([{ channel: '/meta/connect', clientId, connectionType: 'long-polling', advice: { timeout: 0 } }]);
      if ((n * 7 + cycle * 13) % 100 < vanish * 100) vanished++;
      else await post([{ channel: '/meta/disconnect', clientId }]);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.clients }, (_, n) => slot(n)));
  } finally {
    agent.destroy();
  }
  return { sessions, vanished, published };
}
