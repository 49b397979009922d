/** scripts/test.mjs: how it reads its arguments, and when it rebuilds dist/ before a targeted run. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseArgs, staleBuild } from '../../scripts/test-args.mjs';

describe('the test runner', () => {
  it('passes --test-name-pattern foo (value after a space) to node, not as a file filter', () => {
    assert.deepEqual(parseArgs(['--test-name-pattern', 'foo', 'test/protocol']), {
      flags: ['--test-name-pattern', 'foo'],
      only: ['test/protocol'],
    });
    assert.deepEqual(parseArgs(['--test-name-pattern=foo', 'client']), { flags: ['--test-name-pattern=foo'], only: ['client'] });
    assert.deepEqual(parseArgs(['--test-only', 'server']), { flags: ['--test-only'], only: ['server'] });
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
