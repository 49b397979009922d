/** prom-client is optional: without it the server runs, and server.metrics() names what to install. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

describe('server.metrics() without prom-client', () => {
  it('rejects with BAYEUX_NO_PROM_CLIENT and an install hint, while the server itself never loads it', async () => {
    const fixtures = join(import.meta.dirname, '../fixtures');
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', '--import', join(fixtures, 'without-prom-client.mjs'), join(fixtures, 'metrics-without-prom-client.ts')],
      { timeout: 60_000 },
    );
    assert.deepEqual(JSON.parse(stdout), {
      rejected: true,
      code: 'BAYEUX_NO_PROM_CLIENT',
      message: 'server.metrics() needs prom-client: npm install prom-client',
    });
  });
});
