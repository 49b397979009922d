/**
 * The multi-node suites again, on a Redis Cluster of three primaries started
 * here: each file below runs in its own `node --test` with REDIS_CLUSTER set,
 * so the same tests that check a guarantee on one Redis check it on the
 * cluster (test/helpers/redis.ts builds their engines and reads their keys
 * for either). Tests that only mean something on one Redis (MONITOR counts, a
 * Redis of their own) skip there with the reason; the cluster's own routing,
 * placement and cost tests are in redis-cluster.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeTestArgs } from '../../scripts/test-args.mjs';
import { binaryMissing, type OwnCluster, startCluster, versionMissing } from '../helpers/redis-server.js';

const FILES = [
  'test/redis/cluster.test.ts',
  'test/redis/presence.test.ts',
  'test/redis/rate-limits.test.ts',
  'test/redis/revocation.test.ts',
  'test/redis/housekeeping.test.ts',
  'test/redis/metrics.test.ts',
  'test/redis/promises.test.ts',
  'test/redis/rolling-drain.test.ts',
  'test/history/redis.test.ts',
  'test/history/node-death-once.test.ts',
];

const root = join(import.meta.dirname, '../..');
const missing = binaryMissing('redis-server', 'redis-cli') ?? versionMissing(7);

/** Runs one test file in a `node --test` of its own on the cluster; resolves with its exit code and output. */
async function runOn(cluster: OwnCluster, file: string): Promise<{ code: number | null; output: string }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REDIS_CLUSTER: cluster.seeds,
    BAYEUX_REQUIRE_REDIS: '1',
  };
  // Set by the runner around this file: a nested run would report to it instead of printing.
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, nodeTestArgs(root, ['--test-reporter=spec', file]), {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}

describe('the multi-node suites on a Redis Cluster of three primaries', { skip: missing }, () => {
  let cluster: OwnCluster;
  before(async () => {
    cluster = await startCluster(3);
  });
  after(async () => {
    await cluster?.kill();
  });

  for (const file of FILES) {
    it(file, { timeout: 300_000 }, async (t) => {
      const { code, output } = await runOn(cluster, file);
      const summary = output
        .split('\n')
        .filter((line) => /^ℹ (tests|pass|fail|skipped) /.test(line))
        .join(', ');
      t.diagnostic(`${file} on the cluster: ${summary}`);
      assert.equal(code, 0, `${file} failed on the cluster:\n${output.slice(-6000)}`);
      assert.match(summary, /ℹ pass [1-9]/, `${file} passed nothing on the cluster:\n${output.slice(-2000)}`);
    });
  }
});
