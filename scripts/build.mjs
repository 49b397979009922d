// Builds dist/esm (import), dist/cjs (require) and their type declarations.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(root, 'node_modules/typescript/bin/tsc');

rmSync(join(root, 'dist'), { recursive: true, force: true });
for (const project of ['tsconfig.build.json', 'tsconfig.cjs.json']) {
  execFileSync(process.execPath, [tsc, '-p', join(root, project)], { stdio: 'inherit', cwd: root });
}
// dist/cjs holds CommonJS files although the package is "type": "module".
writeFileSync(join(root, 'dist/cjs/package.json'), '{ "type": "commonjs" }\n');

// The browser client: one ES module, no Node built-ins (`ws` is only loaded in Node without a global WebSocket).
const { build } = await import('esbuild');
const { gzipSync } = await import('node:zlib');
const { readFileSync } = await import('node:fs');
const outfile = join(root, 'dist/browser/client.js');
await build({
  entryPoints: [join(root, 'lib/client/index.ts')],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  external: ['ws'],
  legalComments: 'none',
});
// Types for `express-bayeux/client/browser`: the same API as `express-bayeux/client`.
writeFileSync(join(root, 'dist/browser/client.d.ts'), "export * from '../esm/client/index.js';\n");
const bytes = readFileSync(outfile);
console.log(`dist/browser/client.js: ${bytes.length} bytes, ${gzipSync(bytes).length} gzipped`);
