/**
 * `/service/<name>` channels: request/response with the sender only, never
 * broadcast. The handler's return value is the `data` of the reply, which
 * carries the request's `id` so that CometD's `remoteCall` matches it.
 */
import type { Session } from '../engines/session.js';
import { bayeuxError } from '../protocol/errors.js';
import { type Message, replyTo } from '../protocol/message.js';
import type { ServerContext } from './context.js';
import { authorize } from './extensions.js';
import type { MessageContext } from './options/types.js';
import { refusePublishChannel } from './publish.js';

export async function service<User>(
  server: ServerContext<User>,
  message: Message,
  ctx: MessageContext<User>,
  session: Session | undefined,
): Promise<Message> {
  const reply = replyTo(message, false);
  if (session !== undefined) reply.clientId = session.id;
  const channel = message.channel;
  const invalid = refusePublishChannel(channel);
  if (invalid !== undefined) {
    reply.error = invalid;
    return reply;
  }
  const services = server.options.services;
  const handler = services.get(channel.slice('/service/'.length)) ?? services.get('_handler');
  if (handler === undefined) {
    reply.error = bayeuxError('unknownChannel', channel);
    return reply;
  }
  const refused = await authorize(server.options.messageACL, message, ctx, 'publishDenied', channel);
  if (refused !== undefined) {
    reply.error = refused;
    return reply;
  }
  const result = await handler(message, ctx);
  reply.successful = true;
  if (result !== undefined) reply.data = result;
  return reply;
}
