/** The options of `bayeux()`: their types, defaults and `resolveOptions()`. */
export { DEFAULTS, HISTORY_DEFAULTS, WEBSOCKET_DEFAULTS } from './defaults.js';
export { resolveOptions } from './resolve.js';
export type {
  BayeuxOptions,
  BayeuxRequest,
  ConnectionType,
  CorsOptions,
  Extension,
  HistoryOptions,
  MessageACL,
  MessageContext,
  OriginRule,
  OutgoingContext,
  OutgoingKind,
  RateLimit,
  RateLimitOptions,
  RequestContext,
  ServiceHandler,
  SessionExpiry,
  UpgradeVerdict,
  WebSocketOptions,
} from './types.js';
