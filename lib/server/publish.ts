/**
 * Publishing to a broadcast channel (Bayeux 1.0 §5.1).
 * Request MUST: channel, data. MAY: clientId, id, ext.
 * Reply MUST: channel, successful. MAY: id, error, ext.
 * Subscribers receive channel, data and id. The publisher's clientId and ext
 * are not forwarded: the clientId is a credential and ext often carries
 * tokens. Outgoing extensions may add ext to broadcasts.
 */
import { keepsHistory } from '../engines/history/config.js';
import { isValidChannel, isWildcard } from '../protocol/channel.js';
import { bayeuxError } from '../protocol/errors.js';
import { extOf, type Message, replyTo } from '../protocol/message.js';
import type { ServerContext } from './context.js';
import { authorize, runOutgoing } from './extensions.js';
import type { ConnectionType, MessageContext } from './options/types.js';

/** A message on its way to subscribers. */
export interface Outbound<User = unknown> {
  channel: string;
  data: unknown;
  id?: string | number | undefined;
  /** Delivered with the message (local publishes only). */
  ext?: Record<string, unknown> | undefined;
  /** The publisher, shown to local subscribers and in the `publish` event. */
  clientId?: string | undefined;
  /** The ext the publisher sent, for the `publish` event. */
  publisherExt?: Record<string, unknown> | undefined;
  user?: User | undefined;
  /** How it arrived: the publisher's transport, or `local` for `server.publish`. */
  transport?: ConnectionType | 'local' | undefined;
}

/** Serializes once, routes through the engine, emits `publish`. */
export async function broadcast<User>(server: ServerContext<User>, out: Outbound<User>): Promise<void> {
  const delivered: Message = { channel: out.channel, data: out.data };
  if (out.id !== undefined) delivered.id = out.id;
  if (out.ext !== undefined) delivered.ext = out.ext;
  const extensions = server.options.extensions;
  if (extensions.length > 0) await runOutgoing(extensions, delivered, { kind: 'broadcast', client: undefined, request: undefined });
  const json = JSON.stringify(delivered);
  const message = out.clientId === undefined ? delivered : { ...delivered, clientId: out.clientId };
  const template =
    server.stamper !== undefined && keepsHistory(server.history, out.channel) ? server.stamper.template(delivered) : undefined;
  await server.engine.publish({ channel: out.channel, json, message, template });
  server.emit('publish', {
    channel: out.channel,
    data: out.data,
    clientId: out.clientId,
    id: out.id,
    ext: out.publisherExt ?? out.ext,
    user: out.user,
    transport: out.transport ?? 'local',
  });
}

/** Why a channel cannot take a publish (or a service call), or undefined. */
export function refusePublishChannel(channel: string): string | undefined {
  if (!isValidChannel(channel) || isWildcard(channel)) return bayeuxError('invalidChannel', channel);
  return undefined;
}

export async function publish<User>(server: ServerContext<User>, message: Message, ctx: MessageContext<User>): Promise<Message> {
  const reply = replyTo(message, false);
  const channel = message.channel;
  reply.error = refusePublishChannel(channel);
  if (reply.error !== undefined) return reply;
  if (message.data === undefined) {
    reply.error = bayeuxError('missingParameter', 'data');
    return reply;
  }
  const refused = await authorize(server.options.messageACL, message, ctx, 'publishDenied', channel);
  if (refused !== undefined) {
    reply.error = refused;
    return reply;
  }
  await broadcast(server, {
    channel,
    data: message.data,
    id: message.id,
    clientId: ctx.client?.id,
    publisherExt: extOf(message),
    user: ctx.user,
    transport: ctx.transport,
  });
  delete reply.error;
  reply.successful = true;
  return reply;
}
