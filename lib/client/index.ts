/**
 * express-bayeux/client: a Bayeux client for browsers and Node, over
 * WebSocket with fallback to long-polling. Start with `new BayeuxClient(url)`.
 */

export type { Advice, Message } from '../protocol/message.js';
export {
  BayeuxClient,
  type BayeuxClientOptions,
  type ClientEvents,
  type ClientExtension,
  type ClientState,
  type SubscribeOptions,
  type Subscription,
} from './client.js';
export { BayeuxClientError } from './errors.js';
export type { GapEvent, ReplayPosition, ReplayStart } from './positions.js';
export type { MessageHandler } from './subscriptions.js';
export type { ClientTransportName } from './transport.js';
export type { WebSocketConstructor, WebSocketLike } from './websocket.js';
