/** Events the server emits, with their payloads: `server.on(name, listener)`. */

import type { DisconnectReason } from '../engines/session.js';
import type { ConnectionType } from './options/types.js';

/** The session an event is about. */
interface SessionEvent<User> {
  clientId: string;
  ip: string;
  user: User | undefined;
  /** The session's `client.data`: what `messageACL` put there at handshake. */
  data: Record<string, unknown>;
}

/** A session was created by a successful handshake. */
export interface ConnectEvent<User = unknown> extends SessionEvent<User> {
  transport: ConnectionType;
}

/** A session ended, once per session in the whole cluster. */
export interface DisconnectEvent<User = unknown> extends SessionEvent<User> {
  reason: DisconnectReason;
}

/** A remote client subscribed to (or unsubscribed from) a channel or pattern. */
export interface SubscriptionEvent<User = unknown> {
  clientId: string;
  channel: string;
  user: User | undefined;
}

/**
 * A session joined or left a channel (`server.presence()` changed): `join` on
 * subscribe; `leave` on unsubscribe and when the session ends, for each
 * channel it was in. Once in the whole cluster.
 */
export interface PresenceEvent<User = unknown> {
  channel: string;
  clientId: string;
  user: User | undefined;
}

/** A message was accepted for broadcast (from a remote client or `server.publish`). */
export interface PublishEvent<User = unknown> {
  channel: string;
  data: unknown;
  /** The publisher's clientId; the `clientId` option of `server.publish`; undefined for anonymous publishes. */
  clientId: string | undefined;
  id: string | number | undefined;
  /** The publisher's `ext`, as received (it is not forwarded to remote subscribers). */
  ext: Record<string, unknown> | undefined;
  user: User | undefined;
  /** How it arrived: the publisher's transport, or `local` for `server.publish()`. */
  transport: ConnectionType | 'local';
}

/** A message was queued for one client with `server.push`. */
export interface PushEvent {
  clientId: string;
  channel: string;
  data: unknown;
}

/** The `drop-oldest` queue policy started dropping messages for a client. */
export interface OverflowEvent<User = unknown> {
  clientId: string;
  user: User | undefined;
  /** Messages dropped so far since the client's last delivery. */
  dropped: number;
}

/** The typed event map of a Bayeux server. */
export interface BayeuxEvents<User = unknown> {
  connect: [ConnectEvent<User>];
  disconnect: [DisconnectEvent<User>];
  subscribe: [SubscriptionEvent<User>];
  unsubscribe: [SubscriptionEvent<User>];
  publish: [PublishEvent<User>];
  push: [PushEvent];
  overflow: [OverflowEvent<User>];
  join: [PresenceEvent<User>];
  leave: [PresenceEvent<User>];
}
