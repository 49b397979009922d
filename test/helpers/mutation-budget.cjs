/**
 * Preloaded only by `npm run mutate` (stryker.config.mjs). A test file takes
 * about a second here; under a mutant that makes a request hang, it would wait
 * for Stryker's own timeout, which adds the whole dry run's overhead (~20 s)
 * to every such mutant. Past BAYEUX_TEST_FILE_BUDGET_MS the file stops as a
 * failure instead: the mutant is killed in seconds.
 */
const ms = Number(process.env.BAYEUX_TEST_FILE_BUDGET_MS);
if (ms > 0) {
  setTimeout(() => {
    process.stdout.write(`not ok 999 - the test file ran past its ${ms} ms budget\n`);
    process.exit(1);
  }, ms).unref();
}
