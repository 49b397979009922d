// Runs before `npm start` and `npm test`: on a fresh clone, installs exactly
// what the lockfile says, so those two commands are all a newcomer types.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  console.log('express-bayeux: no node_modules yet; running npm ci');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(npm, ['ci'], { cwd: root, stdio: 'inherit' });
}
