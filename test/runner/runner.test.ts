/** scripts/test.mjs: how it reads its arguments, and when it rebuilds dist/ before a targeted run. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { nodeTestArgs, parseArgs, staleBuild } from '../../scripts/test-args.mjs';

describe('the test runner', () => {
  it('passes --test-name-pattern foo (value after a space) to node, not as a file filter', () => {
    assert.deepEqual(parseArgs(['--test-name-pattern', 'foo', 'test/protocol']), {
      flags: ['--test-name-pattern', 'foo'],
      only: ['test/protocol'],
    });
    assert.deepEqual(parseArgs(['--test-name-pattern=foo', 'client']), { flags: ['--test-name-pattern=foo'], only: ['client'] });
    assert.deepEqual(parseArgs(['--test-only', 'server']), { flags: ['--test-only'], only: ['server'] });
  });

  it('ends a file whose failing test left a timer and a server open, and reports that failure', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    // A run of its own, not a child of this one's runner.
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    // The runner's own command line; spawnSync's timeout is only there so that a regression fails instead of hanging.
    const run = spawnSync(process.execPath, nodeTestArgs(root, ['--test-reporter=tap', 'test/fixtures/leaky-failing.ts']), {
      cwd: root,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.signal, null, 'ended by itself, not killed by the timeout');
    assert.equal(run.status, 1);
    assert.match(run.stdout, /^# tests 2$/m);
    assert.match(run.stdout, /^# pass 1$/m);
    assert.match(run.stdout, /^# fail 1$/m);
    assert.match(run.stdout, /still running 2000 ms after its tests ended/);
  });

  it('sees a stale dist/ in a targeted run: missing, or older than a file of lib/', (t) => {
    const root = mkdtempSync(join(tmpdir(), 'bayeux-runner-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    mkdirSync(join(root, 'lib/server'), { recursive: true });
    writeFileSync(join(root, 'lib/server/core.ts'), '');
    assert.equal(staleBuild(root), 'dist/ is missing');
    mkdirSync(join(root, 'dist/esm'), { recursive: true });
    writeFileSync(join(root, 'dist/esm/index.js'), '');
    const built = new Date('2030-01-01T00:00:00Z');
    utimesSync(join(root, 'dist/esm/index.js'), built, built);
    utimesSync(join(root, 'lib/server/core.ts'), new Date('2029-01-01T00:00:00Z'), new Date('2029-01-01T00:00:00Z'));
    assert.equal(staleBuild(root), undefined);
    utimesSync(join(root, 'lib/server/core.ts'), new Date('2031-01-01T00:00:00Z'), new Date('2031-01-01T00:00:00Z'));
    assert.equal(staleBuild(root), join(root, 'lib/server/core.ts'));
  });
});
