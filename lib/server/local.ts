/**
 * Local clients: code in the server process that subscribes, publishes and
 * pushes without handshake or ACL, through the same engine, so with Redis
 * they reach every node.
 */
import type { Logger } from '../engines/logger.js';
import { isPromise } from '../engines/maybe-promise.js';
import { isMeta, isService, isValidChannel, isWildcard } from '../protocol/channel.js';
import type { Message } from '../protocol/message.js';
import type { ServerContext } from './context.js';
import { runOutgoing } from './extensions.js';
import { broadcast } from './publish.js';

/** Receives the messages of a local subscription, with the publisher's clientId. */
export type LocalHandler = (message: Message) => void | Promise<void>;

/** One `server.subscribe()` registration. */
export interface LocalSubscription {
  readonly handler: LocalHandler;
}

/** Options of `server.publish()`. */
export interface PublishOptions {
  /** Delivered with the message. */
  ext?: Record<string, unknown>;
  /** Message id, delivered with the message. */
  id?: string;
  /** Identifies this local publisher to local subscribers (e.g. to ignore its own messages). */
  clientId?: string;
}

/** Calls one local subscriber; its errors are logged, never thrown into routing. */
export function deliverLocal(subscription: LocalSubscription, arg: { message: Message; logger: Logger }): void {
  try {
    const result = subscription.handler(arg.message);
    if (isPromise(result)) {
      result.catch((err: unknown) => arg.logger.error({ err }, 'express-bayeux: a local subscriber failed'));
    }
  } catch (err) {
    arg.logger.error({ err }, 'express-bayeux: a local subscriber threw');
  }
}

/** Checks a channel given to the local API; throws TypeError naming the problem. */
export function checkLocalChannel(method: string, channel: unknown, patterns: boolean): string {
  if (!isValidChannel(channel)) throw new TypeError(`server.${method}(): invalid channel ${JSON.stringify(channel)}`);
  if (isMeta(channel) || isService(channel)) {
    throw new TypeError(`server.${method}(): ${channel} is a meta or service channel, which are never broadcast`);
  }
  if (!patterns && isWildcard(channel)) throw new TypeError(`server.${method}(): cannot publish to the pattern ${channel}`);
  return channel;
}

export async function publishLocal<User>(
  server: ServerContext<User>,
  channel: string,
  data: unknown,
  options: PublishOptions = {},
): Promise<void> {
  checkLocalChannel('publish', channel, false);
  await server.ready;
  await broadcast(server, { channel, data, id: options.id, ext: options.ext, clientId: options.clientId });
}

export async function pushLocal<User>(server: ServerContext<User>, clientId: string, channel: string, data: unknown): Promise<boolean> {
  if (typeof clientId !== 'string') throw new TypeError('server.push(): clientId must be a string');
  if (!isValidChannel(channel) || isWildcard(channel) || isMeta(channel)) {
    throw new TypeError(`server.push(): invalid channel ${JSON.stringify(channel)} (a concrete broadcast or service channel)`);
  }
  await server.ready;
  const message: Message = { channel, data };
  const extensions = server.options.extensions;
  if (extensions.length > 0) await runOutgoing(extensions, message, { kind: 'push', client: undefined, request: undefined, to: clientId });
  const queued = await server.engine.push(clientId, { channel, json: JSON.stringify(message), message });
  if (queued) server.emit('push', { clientId, channel, data });
  return queued;
}
