/**
 * `express-bayeux/engine`: what an engine author needs (the `Engine` contract,
 * the session type engines hold, channel matching, history positions) and the
 * contract test suite every engine must pass. Applications need none of it.
 */
export { AckState } from './engines/ack.js';
export { type ContractOptions, engineContract } from './engines/contract.js';
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
export { fill, type Position, type PositionTemplate, positioned } from './engines/history/position.js';
export { LocalSessions } from './engines/local-sessions.js';
export type { Logger } from './engines/logger.js';
export type { MaybePromise } from './engines/maybe-promise.js';
export { type ClientInfo, type DisconnectReason, type EnqueueResult, Session, type SessionInit } from './engines/session.js';
export { type RateBucket, type RateTake, TokenBuckets } from './engines/token-bucket.js';
export { expand, isValidChannel, isWildcard, matches } from './protocol/channel.js';
export { ChannelIndex } from './protocol/channel-index.js';
export type { Message } from './protocol/message.js';
