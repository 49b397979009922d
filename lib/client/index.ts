/**
 * express-bayeux/client: a Bayeux client for browsers and Node, over
 * WebSocket with fallback to long-polling. Start with `new BayeuxClient(url)`.
 */

export type { Advice, Message } from '../protocol/message.js';
export { BayeuxClient } from './client.js';
export { BayeuxClientError, type ClientErrorReason } from './errors.js';
export type { ClientEvents, ClientState } from './events.js';
export type { BayeuxClientOptions, ClientExtension } from './options.js';
export type { GapEvent, ReplayPosition, ReplayStart } from './positions.js';
export type { MessageHandler, SubscribeOptions, Subscription } from './subscriptions.js';
export type { ClientTransportName } from './transport.js';
export type { WebSocketConstructor, WebSocketLike } from './websocket.js';
