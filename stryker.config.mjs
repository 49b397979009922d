// Mutation testing of the protocol and the server core (`npm run mutate`).
// The tap runner runs each node:test file through tsx and only the files that
// cover a mutant; --incremental reuses earlier results for unchanged code.
// Runs here are mostly of broken code: the test helpers give up on a wait after 3 s instead of 10 s
// (test/helpers/real-time.ts), and the waits overlap across 4 runners on 2 cores (the tests mostly wait).
process.env.BAYEUX_TEST_WAIT_MS ??= '3000';
// A test file that hangs is stopped after 8 s (test/helpers/mutation-budget.cjs) instead of at Stryker's timeout.
process.env.BAYEUX_TEST_FILE_BUDGET_MS ??= '8000';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: ['lib/protocol/**/*.ts', 'lib/server/**/*.ts'],
  testRunner: 'tap',
  tap: {
    // Covering files run in this order until one fails. Every server test resolves options, so the
    // options tests go first: a mutant in lib/server/options dies on its own test file, not the 25th.
    testFiles: [
      'test/options.test.ts',
      'test/protocol/**/*.test.ts',
      'test/server/**/*.test.ts',
      'test/security/**/*.test.ts',
      'test/transports/**/*.test.ts',
    ],
    nodeArgs: ['--import', 'tsx', '-r', '{{hookFile}}', '-r', './test/helpers/mutation-budget.cjs', '{{testFile}}'],
  },
  coverageAnalysis: 'perTest',
  // TypeScript 7 has no JS API for Stryker's tsconfig rewriting; tsx needs no rewritten tsconfig.
  tsconfigFile: 'no-tsconfig-rewrite.json',
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  concurrency: 4,
  // A mutant that makes a test wait is stopped this long after the covering files' own time (x1.5), and counts as detected.
  timeoutMS: 5_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['dist', 'reports', 'bench/results', '.stryker-tmp'],
};
