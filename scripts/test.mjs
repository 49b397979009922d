// Runs every test/**/*.test.ts with node:test (TypeScript through tsx).
// Extra arguments are passed to node --test (e.g. --test-name-pattern).
// A failing test that leaves a timer or a socket behind must end the run with its
// failure, not keep it alive forever: scripts/exit-after-tests.mjs ends such a file
// (not --test-force-exit, which can drop results on their way to the runner).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeTestArgs, parseArgs, staleBuild } from './test-args.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { flags, only } = parseArgs(process.argv.slice(2));
const files = readdirSync(join(root, 'test'), { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => join('test', f))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// Some tests import dist/ (package exports, the browser bundle): a targeted run rebuilds a stale one.
const stale = staleBuild(root);
if (stale !== undefined) {
  console.error(`rebuilding dist/ (${stale === 'dist/ is missing' ? stale : `${relative(root, stale)} is newer`})`);
  const build = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit', cwd: root });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const result = spawnSync(process.execPath, nodeTestArgs(root, [...flags, ...files.map((f) => relative(root, join(root, f)))]), {
  stdio: 'inherit',
  cwd: root,
});
process.exit(result.status ?? 1);
