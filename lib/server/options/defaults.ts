/** Defaults of the options, documented in the README. */
import type { BayeuxOptions, RateLimit, RateLimitOptions } from './types.js';

/** Defaults of every plain option. */
export const DEFAULTS = {
  timeout: 30_000,
  interval: 0,
  maxInterval: 30_000,
  clientMaxConnections: 100,
  maxBodySize: 1024 * 1024,
  maxMessagesPerRequest: 256,
  maxQueue: 1000,
  queuePolicy: 'disconnect',
  maxSessions: 100_000,
  maxSessionsPerIp: 1000,
  anonPublish: false,
  callbackPolling: true,
  ack: false,
  closeTimeout: 5000,
} as const satisfies Partial<BayeuxOptions>;

/** Default rate limits: far above what a normal client sends, low enough to stop a flood. */
export const RATE_LIMIT_DEFAULTS = {
  session: { rate: 200, burst: 1000 },
  ip: { rate: 5000, burst: 20_000 },
} as const satisfies Required<RateLimitOptions>;

/**
 * Handshakes a node admits per second (and at once): a reconnect storm after
 * a node died is spread over seconds with retry advice instead of landing on
 * the survivors at once. Far above a normal arrival rate, below what a node
 * can take (about 3,600/s on the 2-core bench machine).
 */
export const HANDSHAKE_RATE_DEFAULT = { rate: 1000, burst: 2000 } as const satisfies Required<RateLimit>;

/** Defaults of the `websocket` options (`maxPayload` defaults to `maxBodySize`). */
export const WEBSOCKET_DEFAULTS = {
  path: '/cometd',
  pingInterval: 25_000,
  maxBufferedBytes: 1024 * 1024,
  protocols: [] as readonly string[],
  maxInvalidFrames: 10,
} as const;

/** Defaults of the `history` options. */
export const HISTORY_DEFAULTS = {
  size: 1000,
  ttl: 24 * 60 * 60 * 1000,
  salesforce: false,
} as const;
