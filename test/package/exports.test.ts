/** The built package loads from both `import` and `require`, with its types. */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startServer } from '../helpers/server.js';

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

const execFileAsync = promisify(execFile);

/** Runs `code` in a child process (asynchronously: the server under test lives in this one). */
async function runClient(code: string, type: 'module' | 'commonjs'): Promise<string> {
  assert.ok(existsSync(join(root, 'dist/esm/client/index.js')), 'dist/ is missing: run `npm run build` (npm test does it first)');
  const { stdout } = await execFileAsync(
    process.execPath,
    [type === 'module' ? '--input-type=module' : '--input-type=commonjs', '-e', code],
    { cwd: root, encoding: 'utf8', timeout: 30_000 },
  );
  return stdout.trim();
}

/** Connects the client `C` over long-polling, calls /service/echo and prints the answer. */
const CALL = (url: string) => `
  const c = new C(${JSON.stringify(url)}, { transports: ['long-polling'] });
  c.connect()
    .then(() => c.call('/service/echo', { n: 1 }))
    .then(async (answer) => { console.log(JSON.stringify(answer)); await c.disconnect(); });
`;

describe('the client entry points', () => {
  it("work with import 'express-bayeux/client', require('express-bayeux/client') and 'express-bayeux/client/browser'", async (t) => {
    const server = await startServer({ services: { echo: (m) => m.data } });
    t.after(() => server.close());
    const answer = JSON.stringify({ n: 1 });
    assert.equal(await runClient(`import { BayeuxClient as C } from 'express-bayeux/client'; ${CALL(server.url)}`, 'module'), answer);
    assert.equal(await runClient(`const { BayeuxClient: C } = require('express-bayeux/client'); ${CALL(server.url)}`, 'commonjs'), answer);
    assert.equal(
      await runClient(`import { BayeuxClient as C } from 'express-bayeux/client/browser'; ${CALL(server.url)}`, 'module'),
      answer,
    );
  });

  it('ships a browser bundle that imports no Node built-in', () => {
    const bundle = readFileSync(join(root, 'dist/browser/client.js'), 'utf8');
    assert.doesNotMatch(bundle, /from\s*["']node:|require\(["']/);
    assert.match(bundle, /export\s*\{/);
  });
});
