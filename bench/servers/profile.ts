/**
 * BENCH_PROFILE=dir: the bench sends SIGUSR2 when a measured window starts
 * and again when it ends; the server profiles its CPU in between (not its
 * start-up, nor the clients' handshakes) and writes dir/<server>-<pid>-<n>.cpuprofile.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

export function profileOnSignal(name: string): void {
  const dir = process.env.BENCH_PROFILE;
  if (dir === undefined || dir === '') return;
  const session = new Session();
  session.connect();
  let running = false;
  let n = 0;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () => session.post('Profiler.start'));
      return;
    }
    running = false;
    session.post('Profiler.stop', (err, result) => {
      if (err === null) writeFileSync(join(dir, `${name}-${process.pid}-${n++}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
