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

/** The backticked names in the first column of the first table under `heading` (comma-separated cells count each name). */
function documentedValues(readme: string, heading: string): string[] {
  const start = readme.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README has no "${heading}" section`);
  const section = readme.slice(start + heading.length + 2).split(/\n## /)[0] ?? '';
  const table = section.split('\n\n').find((block) => block.trimStart().startsWith('|'));
  assert.ok(table !== undefined, `no table under "${heading}"`);
  const names: string[] = [];
  for (const row of table.split('\n').slice(2)) {
    const cell = row.split('|')[1] ?? '';
    for (const match of cell.matchAll(/`([A-Za-z_$][\w$]*)`/g)) names.push(match[1] as string);
  }
  return names.sort();
}

/** The runtime names an entry point exports, loaded by `import` and by `require` (they must agree). */
function runtimeExports(specifier: string): string[] {
  const esm = run(`const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m).sort()));`, 'module');
  const cjs = run(
    `const m = require(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m).filter((k) => k !== '__esModule').sort()));`,
    'commonjs',
  );
  assert.deepEqual(JSON.parse(cjs), JSON.parse(esm), `${specifier}: require and import export different names`);
  return JSON.parse(esm) as string[];
}

describe('the runtime exports', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');

  it("of 'express-bayeux' are exactly the README's Exports table", () => {
    const documented = documentedValues(readme, '## Exports');
    assert.ok(documented.includes('bayeux') && documented.length >= 10, `parsed ${documented.join(', ')}`);
    assert.deepEqual(runtimeExports('express-bayeux'), documented);
  });

  it("of 'express-bayeux/engine' are exactly the README's Writing an engine table", () => {
    const documented = documentedValues(readme, '## Writing an engine');
    assert.ok(documented.includes('engineContract') && documented.includes('Session'), `parsed ${documented.join(', ')}`);
    assert.deepEqual(runtimeExports('express-bayeux/engine'), documented);
  });

  it("of 'express-bayeux/client' are the two classes the README names", () => {
    const sentence = /`express-bayeux\/client` \(\[The client\]\(#the-client\)\), which exports\s+`(\w+)` and `(\w+)`/.exec(readme);
    assert.ok(sentence !== null, 'README does not say what express-bayeux/client exports');
    assert.deepEqual(runtimeExports('express-bayeux/client'), [sentence[1], sentence[2]].sort());
  });
});
