/**
 * The package as npm ships it (issue 12, items 4 and 9): packed, linted by
 * publint and @arethetypeswrong/cli, installed in a project without ioredis,
 * and compiled by TypeScript 5 under node10, node16 and bundler resolution.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const tsc5 = join(root, 'node_modules', 'typescript5', 'bin', 'tsc');

/** Runs a command; resolves with its output whatever the exit code. */
async function attempt(file: string, args: string[], cwd: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('the packed package', () => {
  let dir = '';
  let tarball = '';
  let project = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'express-bayeux-pack-'));
    // dist/ is built by `npm test` (pretest); packing must not run scripts again.
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root });
    const [info] = JSON.parse(packed.stdout) as { filename: string }[];
    tarball = join(dir, (info as { filename: string }).filename);
    // A project with the package installed from the tarball and every dependency but ioredis.
    project = join(dir, 'project');
    const modules = join(project, 'node_modules');
    mkdirSync(join(modules, 'express-bayeux'), { recursive: true });
    await run('tar', ['-xzf', tarball, '-C', join(modules, 'express-bayeux'), '--strip-components=1']);
    for (const name of readdirSync(join(root, 'node_modules'))) {
      if (name === 'ioredis' || name === 'express-bayeux' || name.startsWith('.')) continue;
      symlinkSync(join(root, 'node_modules', name), join(modules, name));
    }
    cpSync(join(root, 'test', 'package', 'consumer'), project, { recursive: true });
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  });

  after(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('passes publint', async () => {
    const { code, out } = await attempt(bin('publint'), ['--strict', tarball], root);
    assert.equal(code, 0, out);
  });

  it('passes @arethetypeswrong/cli', async () => {
    // The browser bundle is an ES module for browsers and bundlers; Node >= 20.19 (our engines) can require() it too.
    const { code, out } = await attempt(bin('attw'), [tarball, '--ignore-rules', 'cjs-resolves-to-esm'], root);
    assert.equal(code, 0, out);
  });

  it('ships source maps that carry their sources and no install-time scripts', () => {
    const pkg = JSON.parse(readFileSync(join(project, 'node_modules', 'express-bayeux', 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
      dependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional: boolean }>;
    };
    for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) assert.equal(pkg.scripts[script], undefined, script);
    assert.equal(pkg.dependencies.ioredis, undefined);
    assert.deepEqual(pkg.peerDependenciesMeta.ioredis, { optional: true });
    for (const map of ['dist/esm/index.js.map', 'dist/cjs/bayeux.js.map', 'dist/browser/client.js.map']) {
      const parsed = JSON.parse(readFileSync(join(project, 'node_modules', 'express-bayeux', map), 'utf8')) as {
        sources: string[];
        sourcesContent?: (string | null)[];
      };
      assert.equal(parsed.sourcesContent?.length, parsed.sources.length, map);
      assert.ok(
        parsed.sourcesContent?.every((s) => typeof s === 'string' && s.length > 0),
        map,
      );
    }
  });

  it('works without ioredis until the Redis engine is used, which then says what to install', async () => {
    const expected =
      'MissingIoredisError BAYEUX_IOREDIS_MISSING: redisEngine() needs the ioredis package, an optional peer dependency: run `npm install ioredis`';
    for (const script of ['missing-ioredis.mjs', 'missing-ioredis.cjs']) {
      const { code, out } = await attempt(process.execPath, [script], project);
      assert.equal(code, 0, out);
      assert.equal(out.trim(), expected, script);
    }
  });

  for (const [resolution, module] of [
    ['node10', 'commonjs'],
    ['node16', 'node16'],
    ['bundler', 'esnext'],
  ] as const) {
    it(`type-checks a consumer with TypeScript 5, moduleResolution ${resolution}`, async () => {
      const args = ['--noEmit', '--strict', '--skipLibCheck', '--esModuleInterop', '--target', 'es2022', '--types', 'node'];
      const { code, out } = await attempt(
        process.execPath,
        [tsc5, ...args, '--module', module, '--moduleResolution', resolution, 'api.ts'],
        project,
      );
      assert.equal(code, 0, out);
    });
  }

  it('names the events that exist when a server event is misspelt', async () => {
    const args = ['--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node'];
    const { code, out } = await attempt(process.execPath, [tsc5, ...args, 'typo.ts'], project);
    assert.notEqual(code, 0);
    assert.match(out, /Argument of type '"publsh"' is not assignable to parameter of type 'keyof BayeuxEvents<User>'|"publish"/);
    assert.doesNotMatch(out, /type 'never'/);
  });
});
