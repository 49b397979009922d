/**
 * `resolveOptions()`: every option of `bayeux()` checked once, with its
 * default. Nothing else reads raw options: the server works from `ResolvedOptions`.
 */
import type { Engine } from '../../engines/engine.js';
import type { Logger } from '../../engines/logger.js';
import { memoryEngine } from '../../engines/memory.js';
import { isPlainObject } from '../../protocol/message.js';
import { boolean, fail, integer, isObject, lacking, optionalFunction, secondsWarning, unknownOption } from './check.js';
import { resolveCors } from './cors.js';
import { defaultLogger, SILENT } from './default-logger.js';
import { DEFAULTS, HANDSHAKE_RATE_DEFAULT, RATE_LIMIT_DEFAULTS } from './defaults.js';
import { resolveHistory } from './history.js';
import { defaultIdentify } from './identify.js';
import type { ResolvedOptions } from './resolved.js';
import type { BayeuxOptions, Extension, MessageACL, RateLimit, ServiceHandler, SessionExpiry } from './types.js';
import { resolveWebSocket } from './websocket.js';

function resolveServices<User>(value: unknown): Map<string, ServiceHandler<User>> {
  const services = new Map<string, ServiceHandler<User>>();
  if (value === undefined) return services;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail('services', 'an object mapping names to functions', value);
  }
  for (const [name, handler] of Object.entries(value)) {
    if (typeof handler !== 'function') fail(`services.${name}`, 'a function', handler);
    if (!/^[A-Za-z0-9\-_!~()$@.]+(\/[A-Za-z0-9\-_!~()$@.]+)*$/.test(name)) {
      fail(`services.${name}`, 'named by channel segments (the name after /service/)', name);
    }
    services.set(name, handler as ServiceHandler<User>);
  }
  return services;
}

function resolveExtensions<User>(value: unknown): Extension<User>[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail('extensions', 'an array', value);
  value.forEach((extension: unknown, i) => {
    if (!isObject(extension)) fail(`extensions[${i}]`, 'an object', extension);
    const e = extension;
    for (const hook of ['incoming', 'outgoing']) {
      if (e[hook] !== undefined && typeof e[hook] !== 'function') fail(`extensions[${i}].${hook}`, 'a function', e[hook]);
    }
  });
  return value as Extension<User>[];
}

/** The methods a value must have to be taken for an Engine. */
const ENGINE_METHODS = [
  'open',
  'close',
  'createSession',
  'session',
  'claim',
  'destroySession',
  'destroyUserSessions',
  'subscribe',
  'unsubscribe',
  'presence',
  'publish',
  'push',
  'countSessions',
  'takeTokens',
];

function isEngine<User>(value: unknown): value is Engine<User> {
  return isObject(value) && ENGINE_METHODS.every((m) => typeof value[m] === 'function');
}

function resolveEngine<User>(value: unknown): Engine<User> {
  if (value === undefined) return memoryEngine();
  if (typeof value === 'function') fail('engine', 'an Engine: call the factory (engine: redisEngine({ url }))', value);
  if (!isEngine<User>(value)) fail('engine', lacking('an Engine (e.g. memoryEngine() or redisEngine())', value, ENGINE_METHODS), value);
  return value;
}

function resolveRateLimit(value: unknown): ResolvedOptions['rateLimit'] {
  if (value === false) return { session: undefined, ip: undefined };
  if (value === undefined) value = {};
  if (!isPlainObject(value)) fail('rateLimit', 'false or { session?, ip? }', value);
  const o = value;
  for (const name of Object.keys(o)) {
    if (name !== 'session' && name !== 'ip') throw new TypeError(`bayeux(): unknown option "rateLimit.${name}"`);
  }
  const one = (name: 'session' | 'ip') => resolveLimit(o[name], `rateLimit.${name}`, RATE_LIMIT_DEFAULTS[name], 'messages');
  return { session: one('session'), ip: one('ip') };
}

/** One `{ rate, burst }` limit, `false` for none, its default when absent. */
function resolveLimit(limit: unknown, name: string, defaults: Required<RateLimit>, what: string): Required<RateLimit> | undefined {
  if (limit === false) return undefined;
  if (limit === undefined) return { ...defaults };
  if (!isObject(limit)) fail(name, 'false or { rate, burst }', limit);
  const l = limit;
  if (typeof l.rate !== 'number' || !Number.isFinite(l.rate) || l.rate <= 0) {
    fail(`${name}.rate`, `a positive number of ${what} per second`, l.rate);
  }
  return { rate: l.rate, burst: integer(l, 'burst', Math.max(1, Math.ceil(l.rate)), 1, `${name}.`) };
}

const LOGGER_METHODS = ['debug', 'info', 'warn', 'error'];

function isLogger(value: unknown): value is Logger {
  return isObject(value) && LOGGER_METHODS.every((m) => typeof value[m] === 'function');
}

function resolveLogger(value: unknown): Logger {
  if (value === undefined) return defaultLogger();
  if (value === false) return SILENT;
  if (!isLogger(value)) fail('logger', lacking('false or a logger with debug/info/warn/error (e.g. pino)', value, LOGGER_METHODS), value);
  return value;
}

const KNOWN = new Set<string>([
  'timeout',
  'interval',
  'maxInterval',
  'clientMaxConnections',
  'maxBodySize',
  'maxMessagesPerRequest',
  'maxQueue',
  'queuePolicy',
  'maxSessions',
  'maxSessionsPerIp',
  'anonPublish',
  'callbackPolling',
  'ack',
  'services',
  'messageACL',
  'sessionExpiry',
  'rateLimit',
  'handshakeRate',
  'extensions',
  'engine',
  'logger',
  'closeTimeout',
  'cors',
  'identify',
  'websocket',
  'history',
]);

/** Applies defaults and checks every option; throws a `TypeError` naming the first bad one. */
export function resolveOptions<User>(input: BayeuxOptions<User> = {}): ResolvedOptions<User> {
  if (!isObject(input)) fail('options', 'an object', input);
  const o = input;
  for (const name of Object.keys(o)) {
    if (!KNOWN.has(name)) unknownOption(name, [...KNOWN]);
  }
  const maxBodySize = integer(o, 'maxBodySize', DEFAULTS.maxBodySize, 64);
  const queuePolicy = o.queuePolicy ?? DEFAULTS.queuePolicy;
  if (queuePolicy !== 'disconnect' && queuePolicy !== 'drop-oldest') {
    fail('queuePolicy', '"disconnect" or "drop-oldest"', queuePolicy);
  }
  const timeout = integer(o, 'timeout', DEFAULTS.timeout, 0);
  const interval = integer(o, 'interval', DEFAULTS.interval, 0);
  const maxInterval = integer(o, 'maxInterval', DEFAULTS.maxInterval, 1);
  const logger = resolveLogger(o.logger);
  for (const [name, value] of [
    ['timeout', timeout],
    ['interval', interval],
    ['maxInterval', maxInterval],
  ] as const) {
    const warning = o[name] === undefined ? undefined : secondsWarning(name, value);
    if (warning !== undefined) logger.warn({ option: name, value }, `express-bayeux: ${warning}`);
  }
  return {
    timeout,
    interval,
    maxInterval,
    clientMaxConnections: integer(o, 'clientMaxConnections', DEFAULTS.clientMaxConnections, 1),
    maxBodySize,
    maxMessagesPerRequest: integer(o, 'maxMessagesPerRequest', DEFAULTS.maxMessagesPerRequest, 1),
    maxQueue: integer(o, 'maxQueue', DEFAULTS.maxQueue, 1),
    queuePolicy,
    maxSessions: integer(o, 'maxSessions', DEFAULTS.maxSessions, 1),
    maxSessionsPerIp: integer(o, 'maxSessionsPerIp', DEFAULTS.maxSessionsPerIp, 1),
    anonPublish: boolean(o, 'anonPublish', DEFAULTS.anonPublish),
    callbackPolling: boolean(o, 'callbackPolling', DEFAULTS.callbackPolling),
    ack: boolean(o, 'ack', DEFAULTS.ack),
    services: resolveServices<User>(o.services),
    messageACL: optionalFunction<MessageACL<User>>(o, 'messageACL'),
    sessionExpiry: optionalFunction<SessionExpiry<User>>(o, 'sessionExpiry'),
    rateLimit: resolveRateLimit(o.rateLimit),
    handshakeRate: resolveLimit(o.handshakeRate, 'handshakeRate', HANDSHAKE_RATE_DEFAULT, 'handshakes'),
    extensions: resolveExtensions<User>(o.extensions),
    engine: resolveEngine<User>(o.engine),
    logger,
    closeTimeout: integer(o, 'closeTimeout', DEFAULTS.closeTimeout, 1),
    cors: resolveCors(o.cors),
    identify: optionalFunction<(user: User) => string | undefined>(o, 'identify') ?? defaultIdentify,
    websocket: resolveWebSocket(o.websocket, maxBodySize),
    history: resolveHistory(o.history),
  };
}
