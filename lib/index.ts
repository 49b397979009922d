/**
 * express-bayeux: a Bayeux 1.0 (CometD) publish/subscribe server as Express
 * middleware. Start with `bayeux(options)`.
 */
export { type BayeuxServer, bayeux, type PresenceOptions, type ServerHealth, type ServerStats } from './bayeux.js';
export { AckState } from './engines/ack.js';
export type {
  Engine,
  EngineHealth,
  EngineHost,
  EngineLimits,
  EngineObserver,
  Envelope,
  LocalCounts,
  PresenceEntry,
} from './engines/engine.js';
export { EngineUnavailableError, SessionLimitError } from './engines/engine.js';
export { type HistoryConfig, type RefusalReason, type ReplayFrom, ReplayRefusedError } from './engines/history/config.js';
export type { Position, PositionTemplate } from './engines/history/position.js';
export type { Logger } from './engines/logger.js';
export { type MemoryEngineOptions, memoryEngine } from './engines/memory.js';
export type { RedisAddress, RedisTopology } from './engines/redis/connection.js';
export { type RedisEngine, type RedisEngineOptions, redisEngine } from './engines/redis/index.js';
export { MissingIoredisError } from './engines/redis/load.js';
export { type ClientInfo, type DisconnectReason, type EnqueueResult, Session, type SessionInit } from './engines/session.js';
export type { RateBucket, RateTake } from './engines/token-bucket.js';
export { timesyncExtension } from './extensions/index.js';
export { BAYEUX_VERSION } from './protocol/advice.js';
export { type ChannelKind, channelKind, expand, isMeta, isService, isValidChannel, isWildcard, matches } from './protocol/channel.js';
export { ChannelIndex } from './protocol/channel-index.js';
export {
  BAYEUX_ERRORS,
  BayeuxError,
  type BayeuxErrorName,
  bayeuxError,
  type ParsedBayeuxError,
  parseBayeuxError,
} from './protocol/errors.js';
export type { Advice, Message } from './protocol/message.js';
export { ServerClosedError, type ServerState } from './server/closed.js';
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
export {
  type BayeuxOptions,
  type BayeuxRequest,
  type ConnectionType,
  type CorsOptions,
  DEFAULTS,
  defaultIdentify,
  type Extension,
  HISTORY_DEFAULTS,
  type HistoryOptions,
  type MessageACL,
  type MessageContext,
  type OriginRule,
  type OutgoingContext,
  type OutgoingKind,
  RATE_LIMIT_DEFAULTS,
  type RateLimit,
  type RateLimitOptions,
  type RequestContext,
  type ResolvedOptions,
  resolveOptions,
  type ServiceHandler,
  type SessionExpiry,
  type UpgradeVerdict,
  WEBSOCKET_DEFAULTS,
  type WebSocketOptions,
} from './server/options/index.js';
export type { ErrorHandler, RequestHandler } from './transports/http.js';
export type { ExpressLike } from './transports/mount.js';
export type { UpgradeMiddleware } from './transports/upgrade.js';
export type { AttachOptions } from './transports/websocket.js';
