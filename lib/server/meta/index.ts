/**
 * The meta channels and their handlers in one flat table (as Faye's
 * `_methodFor`). Every handler but the handshake acts on a session the core
 * has already looked up and checked against the request's user.
 */
import type { MaybePromise } from '../../engines/maybe-promise.js';
import type { Session } from '../../engines/session.js';
import type { Message } from '../../protocol/message.js';
import type { MetaCall } from '../context.js';
import { connect } from './connect.js';
import { disconnect } from './disconnect.js';
import { handshake } from './handshake.js';
import { subscribe, unsubscribe } from './subscription.js';

type SessionHandler = <User>(call: MetaCall<User>, message: Message, session: Session<User>) => MaybePromise<Message | undefined>;

/** A meta handler, and whether it needs a checked session. */
export type MetaRoute =
  | { readonly session: false; readonly run: <User>(call: MetaCall<User>, message: Message) => Promise<Message> }
  | { readonly session: true; readonly run: SessionHandler };

const META = {
  '/meta/handshake': { session: false, run: handshake },
  '/meta/connect': { session: true, run: connect },
  '/meta/disconnect': { session: true, run: disconnect },
  '/meta/subscribe': { session: true, run: subscribe },
  '/meta/unsubscribe': { session: true, run: unsubscribe },
} as const satisfies Record<string, MetaRoute>;

/** A meta channel the server answers. */
export type MetaChannel = keyof typeof META;

/** True for the meta channels the server answers. */
export function isMetaChannel(channel: string): channel is MetaChannel {
  return Object.hasOwn(META, channel);
}

/** The handler of a meta channel. */
export function metaRoute(channel: MetaChannel): MetaRoute {
  return META[channel];
}
