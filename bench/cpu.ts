/** What a benchmark reads off a server process. */
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU seconds the process used so far, all its threads (V8's and libuv's
 * included): the nanosecond run times of /proc/<pid>/task/<tid>/schedstat,
 * not /proc/<pid>/stat's 10 ms clock ticks, which quantize the small cells
 * (the many-channels cells are about 160 deliveries). Node's threads live as
 * long as the process, so none leaves with its time during a window.
 */
export function cpuSeconds(pid: number): number {
  let nanoseconds = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      nanoseconds += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return nanoseconds / 1e9;
}
