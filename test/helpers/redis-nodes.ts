/** Several Redis-engine nodes in this process, on one namespace of the test Redis (or cluster). */
import type { BayeuxOptions, RedisEngine } from '../../lib/index.js';
import { testEngine } from './redis.js';
import { startServer, type TestServer } from './server.js';

/** Starts `count` nodes; if one fails to start, closes the others before throwing (nothing is left listening). */
export async function cluster(
  namespace: string,
  count: number,
  options: BayeuxOptions = {},
  connectionName?: string,
): Promise<TestServer[]> {
  const started = await Promise.allSettled(
    Array.from({ length: count }, () =>
      startServer({
        timeout: 2000,
        ...options,
        engine: testEngine(namespace, connectionName ? { redis: { connectionName } } : {}),
      }),
    ),
  );
  const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await Promise.allSettled(nodes.map((n) => n.close()));
    throw failed.reason;
  }
  return nodes;
}

export async function syncAll(nodes: TestServer[]): Promise<void> {
  await Promise.all(nodes.map((n) => (n.bayeux.engine as RedisEngine).sync()));
}
