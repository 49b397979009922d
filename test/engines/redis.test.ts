import { after } from 'node:test';
import { engineContract } from '../../lib/engine.js';
import type { RedisEngine } from '../../lib/index.js';
import { dropNamespace, redisMissing, testEngine, testNamespace } from '../helpers/redis.js';

const missing = await redisMissing();
if (missing !== undefined) {
  const { it } = await import('node:test');
  it('engine contract: redis', (t) => t.skip(missing));
} else {
  const namespaces: string[] = [];
  const engines: RedisEngine[] = [];
  engineContract(
    'redis',
    () => {
      const namespace = testNamespace('contract');
      namespaces.push(namespace);
      const engine = testEngine(namespace);
      engines.push(engine);
      return engine;
    },
    {
      settle: async () => {
        await Promise.all(engines.map((e) => e.sync().catch(() => {})));
      },
    },
  );
  after(async () => {
    for (const namespace of namespaces) await dropNamespace(namespace);
  });
}
