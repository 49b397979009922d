/**
 * express-bayeux: a Bayeux 1.0 (CometD) publish/subscribe server as Express
 * middleware. Start with `bayeux(options)`. This is the list the README's
 * Exports section documents; what engine authors need is `express-bayeux/engine`.
 */
export { type BayeuxServer, bayeux, type PresenceOptions, type ServerHealth, type ServerStats } from './bayeux.js';
export type { Engine, EngineHealth, PresenceEntry } from './engines/engine.js';
export { EngineUnavailableError, SessionLimitError } from './engines/engine.js';
export { ReplayRefusedError } from './engines/history/config.js';
export type { Position } from './engines/history/position.js';
export type { Logger } from './engines/logger.js';
export { type MemoryEngineOptions, memoryEngine } from './engines/memory.js';
export type { RedisAddress, RedisTopology } from './engines/redis/connection.js';
export { type RedisEngine, type RedisEngineOptions, type RedisEngineStats, redisEngine } from './engines/redis/index.js';
export { MissingIoredisError } from './engines/redis/load.js';
export type { ClientInfo, DisconnectReason } from './engines/session.js';
export { timesyncExtension } from './extensions/index.js';
export { BayeuxError, type ParsedBayeuxError, parseBayeuxError } from './protocol/errors.js';
export type { Advice, Message } from './protocol/message.js';
export { ServerClosedError, type ServerState } from './server/closed.js';
export type { DrainOptions, DrainResult } from './server/drain.js';
export type {
  BayeuxEvents,
  ConnectEvent,
  DisconnectEvent,
  OverflowEvent,
  PresenceEvent,
  PublishEvent,
  PushEvent,
  SubscriptionEvent,
} from './server/events.js';
export type { LocalHandler, PublishOptions } from './server/local.js';
export { MetricsUnavailableError } from './server/metrics.js';
export type * from './server/options/types.js';
export type { ErrorHandler } from './transports/http.js';
export type { UpgradeMiddleware } from './transports/upgrade.js';
export type { AttachOptions } from './transports/websocket.js';
