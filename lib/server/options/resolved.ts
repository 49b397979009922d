/** The options after `resolveOptions()` applied defaults and checks: what the server reads. */
import type { IncomingMessage } from 'node:http';
import type { Engine } from '../../engines/engine.js';
import type { HistoryConfig } from '../../engines/history/config.js';
import type { Logger } from '../../engines/logger.js';
import type { CorsOptions, Extension, MessageACL, OriginRule, RateLimit, ServiceHandler, SessionExpiry, UpgradeVerdict } from './types.js';

/** WebSocket options after defaults and checks. */
export interface ResolvedWebSocketOptions {
  path: string;
  /** True when `websocket.path` was given: it then overrides the path the app mounts the server on. */
  pathSet: boolean;
  maxPayload: number;
  pingInterval: number;
  maxBufferedBytes: number;
  origins: OriginRule | undefined;
  handshake: ((req: IncomingMessage) => UpgradeVerdict | Promise<UpgradeVerdict>) | undefined;
  protocols: readonly string[];
  maxInvalidFrames: number;
}

/** Options after defaults and checks. */
export interface ResolvedOptions<User = unknown> {
  timeout: number;
  interval: number;
  maxInterval: number;
  clientMaxConnections: number;
  maxBodySize: number;
  maxMessagesPerRequest: number;
  maxQueue: number;
  queuePolicy: 'disconnect' | 'drop-oldest';
  maxSessions: number;
  maxSessionsPerIp: number;
  anonPublish: boolean;
  callbackPolling: boolean;
  ack: boolean;
  services: ReadonlyMap<string, ServiceHandler<User>>;
  messageACL: MessageACL<User> | undefined;
  sessionExpiry: SessionExpiry<User> | undefined;
  rateLimit: { session: Required<RateLimit> | undefined; ip: Required<RateLimit> | undefined };
  handshakeRate: Required<RateLimit> | undefined;
  extensions: readonly Extension<User>[];
  engine: Engine<User>;
  logger: Logger;
  closeTimeout: number;
  cors: Required<CorsOptions> | undefined;
  identify: (user: User) => string | undefined;
  websocket: ResolvedWebSocketOptions;
  history: HistoryConfig | undefined;
}
