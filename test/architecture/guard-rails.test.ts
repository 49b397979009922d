/**
 * The shape of lib/ is checked, not hoped for: dependency-cruiser fails on an
 * import cycle or an import from a lower layer into a higher one
 * (.dependency-cruiser.cjs), knip on an unused file, export or dependency
 * (knip.json).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const root = join(import.meta.dirname, '../..');
const execFileAsync = promisify(execFile);

/** Runs a devDependency's CLI; resolves with its exit code and output. */
async function tool(bin: string, args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(join(root, 'node_modules/.bin', bin), args, {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const failed = err as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : 1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

describe('architecture', () => {
  it('lib/ has no import cycle and no upward import between layers (dependency-cruiser)', async () => {
    const { code, output } = await tool('depcruise', ['lib', '--config', '.dependency-cruiser.cjs', '--output-type', 'err']);
    assert.equal(code, 0, output);
    assert.match(output, /no dependency violations found \(\d{2,} modules/);
  });

  it('has no unused file, export or dependency (knip)', async () => {
    const { code, output } = await tool('knip', ['--no-progress']);
    assert.equal(code, 0, output);
  });
});
