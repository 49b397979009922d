/** Where a benchmark's committed results go: bench/results/<name>.md and .json. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes `<name>.md` and `<name>.json` under bench/results unless `<PREFIX>_RESULTS=0` (`skipVar`); returns the .md path, or undefined when skipped. */
export function saveResults(name: string, markdown: string, data: unknown, skipVar: string): string | undefined {
  if (process.env[skipVar] === '0') return undefined;
  const dir = join(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.md`), markdown);
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(data, null, 2)}\n`);
  return join(dir, `${name}.md`);
}
