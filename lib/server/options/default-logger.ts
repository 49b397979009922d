/** The logger when the `logger` option is not given, and the silent one for `logger: false`. */
import createDebug from 'debug';
import type { Logger } from '../../engines/logger.js';

export const SILENT: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Messages name the package themselves (`express-bayeux: ...`, as pino users see them); the console prints it once. */
const PREFIX = /^express-bayeux:\s*/;

/**
 * The logger when none is given: warnings and errors on the console, debug
 * and info through the `debug` package (`DEBUG=express-bayeux*`), as Express does.
 */
export function defaultLogger(): Logger {
  const trace = createDebug('express-bayeux');
  const line = (obj: object | string, msg?: string) => (typeof obj === 'string' ? obj : (msg ?? '')).replace(PREFIX, '');
  const write = (level: string) => (obj: object | string, msg?: string) => {
    if (typeof obj === 'string') console.error(`express-bayeux ${level}: ${line(obj)}`);
    else console.error(`express-bayeux ${level}: ${line(obj, msg)}`, obj);
  };
  const debug = (obj: object | string, msg?: string) => {
    if (!trace.enabled) return;
    if (typeof obj === 'string') trace(line(obj));
    else trace('%s %o', line(obj, msg), obj);
  };
  return { debug, info: debug, warn: write('warn'), error: write('error') };
}
