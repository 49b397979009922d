// Argument parsing, the node command line and the stale-build check of scripts/test.mjs, apart so that they can be tested.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The node arguments that run test files: TypeScript through tsx, a timeout per test, and
 * scripts/exit-after-tests.mjs in each file's process (not --test-force-exit, which can drop results).
 * @param {string} root
 * @param {string[]} rest flags and files after `--test`
 * @returns {string[]}
 */
export function nodeTestArgs(root, rest) {
  const exitAfterTests = pathToFileURL(join(root, 'scripts/exit-after-tests.mjs')).href;
  return ['--import', 'tsx', '--import', exitAfterTests, '--test', '--test-timeout=120000', ...rest];
}

/** node --test flags that take a value, given either as `--flag=value` or as `--flag value`. */
const VALUED = new Set([
  '--test-name-pattern',
  '--test-skip-pattern',
  '--test-reporter',
  '--test-reporter-destination',
  '--test-concurrency',
  '--test-timeout',
  '--test-shard',
]);

/**
 * Splits the runner's arguments into node --test flags (with their values) and file filters.
 * @param {string[]} argv
 * @returns {{ flags: string[], only: string[] }}
 */
export function parseArgs(argv) {
  /** @type {string[]} */
  const flags = [];
  /** @type {string[]} */
  const only = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = /** @type {string} */ (argv[i]);
    const value = argv[i + 1];
    if (!arg.startsWith('-')) only.push(arg);
    else if (VALUED.has(arg) && value !== undefined) {
      flags.push(arg, value);
      i++;
    } else flags.push(arg);
  }
  return { flags, only };
}

/**
 * @param {string} dir
 * @returns {{ path: string | undefined, mtime: number }}
 */
function newest(dir) {
  /** @type {{ path: string | undefined, mtime: number }} */
  let latest = { path: undefined, mtime: 0 };
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const path = join(dir, entry);
    const stat = statSync(path);
    if (stat.isFile() && stat.mtimeMs > latest.mtime) latest = { path, mtime: stat.mtimeMs };
  }
  return latest;
}

/**
 * The source file newer than the build (or 'dist/ is missing'); undefined when dist/ is up to date.
 * @param {string} root
 * @returns {string | undefined}
 */
export function staleBuild(root) {
  let built;
  try {
    built = statSync(join(root, 'dist/esm/index.js')).mtimeMs;
  } catch {
    return 'dist/ is missing';
  }
  const source = newest(join(root, 'lib'));
  return source.mtime > built ? source.path : undefined;
}
