/**
 * The README's TypeScript snippets compile as written, against the built
 * package as users import it (`express-bayeux`, `express-bayeux/client`), so
 * they cannot rot. A snippet that continues an earlier one may be preceded by
 * `<!-- typecheck-prelude: ... -->` holding the declarations it relies on.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Every ```ts block with its prelude and the line it starts on. */
export function snippets(markdown: string): { line: number; code: string }[] {
  const found: { line: number; code: string }[] = [];
  const pattern = /(?:<!-- typecheck-prelude: ([\s\S]*?) -->\n\n)?```ts\n([\s\S]*?)```/g;
  for (const match of markdown.matchAll(pattern)) {
    const line = markdown.slice(0, match.index).split('\n').length;
    found.push({ line, code: `${match[1] ?? ''}\n${match[2]}\nexport {};\n` });
  }
  return found;
}

describe('the README', () => {
  it('has TypeScript snippets that typecheck as written', async (t) => {
    const blocks = snippets(readFileSync(join(root, 'README.md'), 'utf8'));
    assert.ok(blocks.length >= 6, `found ${blocks.length} snippets`);
    // Inside the repository, so `express-bayeux` resolves to this package (its exports) and its devDependencies.
    const dir = mkdtempSync(join(root, 'test', 'docs', '.snippets-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const files = blocks.map((block) => {
      const file = join(dir, `readme-line-${block.line}.ts`);
      writeFileSync(file, block.code);
      return file;
    });
    const compilerOptions = {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: 'es2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      types: ['node'],
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files }));
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await promisify(execFile)(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')]).then(
      () => '',
      (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}` || 'tsc failed',
    );
    assert.equal(result, '', `README snippets (file names give the README line):\n${result}`);
  });
});
