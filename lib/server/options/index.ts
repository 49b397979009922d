/** The options of `bayeux()`: their types, defaults and `resolveOptions()`, as the package exports them. */
export { DEFAULTS, HISTORY_DEFAULTS, RATE_LIMIT_DEFAULTS, WEBSOCKET_DEFAULTS } from './defaults.js';
export { defaultIdentify } from './identify.js';
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
  ResolvedOptions,
  ServiceHandler,
  SessionExpiry,
  UpgradeVerdict,
  WebSocketOptions,
} from './types.js';
