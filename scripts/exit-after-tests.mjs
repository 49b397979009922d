// Preloaded into every test file's process by scripts/test.mjs, in place of --test-force-exit:
// Node's force exit can end a file's process before its results reach the runner through the pipe,
// and the runner then reports fewer tests, failures included, with exit code 0 (nodejs/node#64833).
// Here a file whose tests are all done but whose process stays alive (a timer or a server left
// behind) is ended after a grace period, once what it wrote has drained, with its own exit code.
import { after } from 'node:test';

const GRACE_MS = 2000;
/** How long a leaking file's output may take to drain before it is ended anyway (a runner that stopped reading). */
const DRAIN_MS = 5000;

if (process.env.NODE_TEST_CONTEXT !== undefined) {
  after(() => {
    const timer = setTimeout(() => {
      process.stderr.write(
        `${process.argv[1] ?? 'a test file'}: still running ${GRACE_MS} ms after its tests ended (a timer, socket or server left open); ending it\n`,
      );
      const end = () => process.exit();
      if (process.stdout.writableLength === 0) end();
      else {
        process.stdout.once('drain', end);
        setTimeout(end, DRAIN_MS).unref();
      }
    }, GRACE_MS);
    // Unreferenced: a file that cleans up exits at once; only a leak keeps the loop alive long enough.
    timer.unref();
  });
}
