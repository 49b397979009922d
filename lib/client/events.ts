/** What the client emits: `client.on(name, listener)`. */
import type { Message } from '../protocol/message.js';
import type { BayeuxClientError } from './errors.js';
import type { GapEvent } from './positions.js';
import type { ClientTransportName } from './transport.js';

/** Where the client is in its life. */
export type ClientState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting';

/** Events of the client: `client.on(name, listener)`. */
export interface ClientEvents {
  state: [ClientState];
  transport: [ClientTransportName];
  error: [BayeuxClientError];
  message: [Message];
  /** A subscription handler threw or its promise rejected (without a listener the error is thrown asynchronously). */
  'handler-error': [unknown, Message];
  /** A history position could not be resumed from: messages were lost; reload what the channel carries. */
  gap: [GapEvent];
  /** The server ended the session because the credentials it was opened with expired; the client handshakes again once. */
  expired: [BayeuxClientError];
  /** The server signed the user out (`server.disconnectUser()`); the client handshakes again once. */
  revoked: [BayeuxClientError];
}
