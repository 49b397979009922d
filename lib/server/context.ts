/**
 * What the message handlers (meta channels, publish, service, local API) see
 * of the server: a narrow interface the core implements, so the handlers
 * depend on it and never import the core back.
 */
import type { Engine } from '../engines/engine.js';
import type { HistoryConfig } from '../engines/history/config.js';
import type { Stamper } from '../engines/history/position.js';
import type { Logger } from '../engines/logger.js';
import type { Advice } from '../protocol/message.js';
import type { ConnectAnnouncements } from './announcements.js';
import type { ClientIds } from './client-ids.js';
import type { BayeuxEvents } from './events.js';
import type { ResolvedOptions } from './options/resolved.js';
import type { ConnectionType, MessageContext } from './options/types.js';
import type { RequestState } from './request.js';

export interface ServerContext<User = unknown> {
  readonly engine: Engine<User>;
  readonly options: ResolvedOptions<User>;
  readonly logger: Logger;
  /** Channel history (`history` option); undefined when off. */
  readonly history: HistoryConfig | undefined;
  /** Serializes messages of history channels with holes for their position; undefined when history is off. */
  readonly stamper: Stamper | undefined;
  /** Where handshakes get their clientIds. */
  readonly clientIds: ClientIds;
  /** Resolves once the engine is open. */
  readonly ready: Promise<void>;
  /** Fresh `retry` advice with the server's timing. */
  advice(): Advice;
  /** True while the node drains (`server.drain()`): no new sessions, polls answered at once. */
  readonly draining: boolean;
  /** Advice for a client of a draining node: retry after a jittered pause, through the balancer. */
  retryElsewhere(): Advice;
  /** True when one more handshake fits this node's `handshakeRate`. */
  admitHandshake(): boolean;
  /** Connection types offered in handshake replies. */
  connectionTypes(): string[];
  supports(type: unknown): type is ConnectionType;
  /** Emits a server event; a throwing listener is logged, never thrown. */
  emit<K extends keyof BayeuxEvents<User>>(event: K, ...args: BayeuxEvents<User>[K]): void;
  /** `connect` events of new sessions, emitted once their first /meta/connect names the transport. */
  readonly announcements: ConnectAnnouncements<User>;
}

/** Where a meta handler runs: the server, the request it belongs to, the context hooks see. */
export interface MetaCall<User> {
  readonly server: ServerContext<User>;
  readonly request: RequestState<User>;
  readonly ctx: MessageContext<User>;
}
