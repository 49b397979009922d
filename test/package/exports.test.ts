/** The built package loads from both `import` and `require`, with its types. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = join(import.meta.dirname, '../..');

function run(code: string, type: 'module' | 'commonjs'): string {
  assert.ok(existsSync(join(root, 'dist/esm/index.js')), 'dist/ is missing: run `npm run build` (npm test does it first)');
  return execFileSync(process.execPath, [type === 'module' ? '--input-type=module' : '--input-type=commonjs', '-e', code], {
    cwd: root,
    encoding: 'utf8',
  }).trim();
}

const CHECK = `
  const server = m.bayeux({ logger: false });
  const shape = [typeof m.bayeux, typeof m.memoryEngine, typeof m.BayeuxError, typeof server.publish, typeof server.on, typeof server.attach];
  server.close().then(() => console.log(JSON.stringify(shape)));
`;
const SHAPE = JSON.stringify(['function', 'function', 'function', 'function', 'function', 'function']);

describe('the package', () => {
  it("loads with import 'express-bayeux'", () => {
    assert.equal(run(`import * as m from 'express-bayeux'; ${CHECK}`, 'module'), SHAPE);
  });

  it("loads with require('express-bayeux')", () => {
    assert.equal(run(`const m = require('express-bayeux'); ${CHECK}`, 'commonjs'), SHAPE);
  });

  it('ships type declarations for both', () => {
    for (const file of ['dist/esm/index.d.ts', 'dist/cjs/index.d.ts']) assert.ok(existsSync(join(root, file)), file);
  });
});
