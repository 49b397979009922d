/** A logger that keeps what the server logs, per level, as [fields, message] pairs. */
import type { Logger } from '../../lib/index.js';

type LogLine = [fields: object | string, message: string | undefined];

export interface RecordingLogger extends Logger {
  readonly lines: Record<keyof Logger, LogLine[]>;
}

export function recordingLogger(): RecordingLogger {
  const lines: Record<keyof Logger, LogLine[]> = { debug: [], info: [], warn: [], error: [] };
  return {
    lines,
    debug: (fields, message) => lines.debug.push([fields, message]),
    info: (fields, message) => lines.info.push([fields, message]),
    warn: (fields, message) => lines.warn.push([fields, message]),
    error: (fields, message) => lines.error.push([fields, message]),
  };
}
