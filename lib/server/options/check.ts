/** Checks shared by the option resolvers: each throws a `TypeError` naming the option. */
import { closest, distance } from 'fastest-levenshtein';

/** Any object (arrays too): what the option checks then look into. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function fail(name: string, expected: string, value: unknown): never {
  let shown: string;
  try {
    // JSON would show NaN and Infinity as null.
    shown =
      typeof value === 'function' ? 'a function' : typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    shown = String(value);
  }
  throw new TypeError(`bayeux(): option "${name}" must be ${expected}, got ${shown}`);
}

/** `unknown option "x"`, with the closest known name when one is near (a typo). */
export function unknownOption(name: string, known: readonly string[], prefix = ''): never {
  const guess = closest(name, known as string[]);
  // Two swapped letters are two edits: a name of six letters or more may be two edits off.
  const near = guess !== undefined && distance(name.toLowerCase(), guess.toLowerCase()) <= Math.max(1, Math.floor(name.length / 3));
  throw new TypeError(`bayeux(): unknown option "${prefix}${name}"${near ? `; did you mean "${prefix}${guess}"?` : ''}`);
}

/**
 * Durations are milliseconds; Faye counts seconds. A value under one second
 * for a duration people usually set in seconds is most likely one of those.
 */
export function secondsWarning(name: string, value: number): string | undefined {
  if (value <= 0 || value >= 1000) return undefined;
  return `option "${name}" is ${value} ms; durations are milliseconds (Faye counts seconds): did you mean ${value * 1000}?`;
}

/** `expected`, plus the methods an object lacks: `{}` alone would not say what is wrong with a half-built engine or logger. */
export function lacking(expected: string, value: unknown, methods: readonly string[]): string {
  if (!isObject(value)) return expected;
  const missing = methods.filter((m) => typeof value[m] !== 'function');
  return `${expected}; it has no ${missing.join(', ')} method${missing.length === 1 ? '' : 's'}`;
}

export function integer(options: Record<string, unknown>, name: string, fallback: number, min: number, prefix = ''): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    fail(prefix + name, `an integer >= ${min}`, value);
  }
  return value;
}

export function boolean(options: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(name, 'a boolean', value);
  return value;
}

export function optionalFunction<F>(options: Record<string, unknown>, name: string, prefix = ''): F | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'function') fail(prefix + name, 'a function', value);
  return value as F;
}
