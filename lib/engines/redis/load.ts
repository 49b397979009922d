/**
 * ioredis is an optional peer dependency: memory-only applications never
 * install it. The Redis engine loads it when it opens and, when it is
 * missing, says what to install instead of a bare "Cannot find module".
 */
import type * as IORedis from 'ioredis';

/** Thrown (as the engine's open failure) when `redisEngine()` is used without ioredis installed. */
export class MissingIoredisError extends Error {
  /** Stable machine-readable code. */
  readonly code = 'BAYEUX_IOREDIS_MISSING' as const;

  constructor(cause: unknown) {
    super('redisEngine() needs the ioredis package, an optional peer dependency: run `npm install ioredis`', { cause });
    this.name = 'MissingIoredisError';
  }
}

/** Imports ioredis, or throws `MissingIoredisError` when it is not installed. */
export async function loadIoredis(specifier = 'ioredis'): Promise<typeof IORedis> {
  try {
    return (await import(specifier)) as typeof IORedis;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new MissingIoredisError(err);
    throw err;
  }
}
