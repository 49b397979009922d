/**
 * BENCH_PROFILE=dir: the bench sends SIGUSR2 when a measured window starts
 * and again when it ends; the server profiles its CPU in between (not its
 * start-up, nor the clients' handshakes) and writes dir/<server>-<pid>-<n>.cpuprofile
 * (.heapprofile of the allocations, collected ones included, with BENCH_HEAP=1).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

export function profileOnSignal(name: string): void {
  const dir = process.env.BENCH_PROFILE;
  if (dir === undefined || dir === '') return;
  const session = new Session();
  session.connect();
  // BENCH_HEAP=1: where the window's allocations come from (collected ones included), instead of CPU.
  const heap = process.env.BENCH_HEAP === '1';
  let running = false;
  let n = 0;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      if (heap)
        session.post('HeapProfiler.startSampling', {
          samplingInterval: 4096,
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: true,
        });
      else session.post('Profiler.enable', () => session.post('Profiler.start'));
      return;
    }
    running = false;
    if (heap) {
      session.post('HeapProfiler.stopSampling', (err, result) => {
        // Without the per-sample list (the tree's sizes hold the totals): written whole before the bench stops the server.
        if (err === null)
          writeFileSync(join(dir, `${name}-${process.pid}-${n++}.heapprofile`), JSON.stringify({ ...result.profile, samples: [] }));
      });
      return;
    }
    session.post('Profiler.stop', (err, result) => {
      if (err === null) writeFileSync(join(dir, `${name}-${process.pid}-${n++}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
