/**
 * /meta/subscribe and /meta/unsubscribe (Bayeux 1.0 §4.4, §4.5).
 * Request MUST: channel, clientId, subscription (a channel or pattern, or an array of them).
 * MAY: ext, id.
 * Reply MUST: channel, successful, clientId, subscription. MAY: error, advice, ext, id, timestamp.
 * A request with several channels succeeds or fails as a whole.
 */
import { ReplayRefusedError } from '../../engines/history/config.js';
import type { Session } from '../../engines/session.js';
import { isMeta, isService, isValidChannel } from '../../protocol/channel.js';
import { bayeuxError } from '../../protocol/errors.js';
import { type Message, replyTo, subscriptionsOf } from '../../protocol/message.js';
import type { MetaCall } from '../context.js';
import { authorize } from '../extensions.js';
import { replayRequest, startPositions } from './replay.js';

/** Why a subscription channel cannot be subscribed to, or undefined. */
function refuseChannel(channel: string): string | undefined {
  if (!isValidChannel(channel)) return bayeuxError('invalidChannel', channel);
  // Meta and service messages are never broadcast, so subscribing to them means nothing.
  if (isMeta(channel) || isService(channel)) return bayeuxError('forbiddenChannel', channel);
  return undefined;
}

function start(message: Message, session: Session): { reply: Message; channels: string[] | undefined } {
  const reply = replyTo(message, false);
  reply.clientId = session.id;
  reply.subscription = message.subscription as string | string[];
  const channels = subscriptionsOf(message);
  if (channels === undefined) {
    reply.error = bayeuxError(message.subscription === undefined ? 'missingParameter' : 'invalidParameter', 'subscription');
  }
  return { reply, channels };
}

export async function subscribe<User>({ server, ctx }: MetaCall<User>, message: Message, session: Session<User>): Promise<Message> {
  const { reply, channels } = start(message, session);
  if (channels === undefined) return reply;
  for (const channel of channels) {
    const refused = refuseChannel(channel);
    if (refused !== undefined) {
      reply.error = refused;
      return reply;
    }
  }
  const refused = await authorize(server.options.messageACL, message, ctx, 'subscribeDenied', channels.join(','));
  if (refused !== undefined) {
    reply.error = refused;
    return reply;
  }
  const request = replayRequest(message, channels, server.history);
  if (request.error !== undefined) {
    reply.error = request.error;
    return reply;
  }
  let added: string[];
  try {
    added = await server.engine.subscribe(session, channels, request.replay);
  } catch (err) {
    if (!(err instanceof ReplayRefusedError)) throw err;
    reply.error = bayeuxError('replayRefused', err.channel, err.message);
    // Machine-readable, for clients that reload state on a gap (ours emits 'gap').
    reply.ext = { ...reply.ext, replay: { channel: err.channel, offset: err.offset, reason: err.reason } };
    return reply;
  }
  reply.successful = true;
  // Where each live start is, so a client can later resume from there (history channels only).
  const positions = startPositions(request.replay);
  if (positions !== undefined) reply.ext = { ...reply.ext, position: positions };
  if (added.length > 0) server.logger.debug({ clientId: session.id, channels: added }, 'express-bayeux: subscribe');
  for (const channel of added) {
    server.emit('subscribe', { clientId: session.id, channel, user: ctx.user });
    server.emit('join', { clientId: session.id, channel, user: ctx.user });
  }
  return reply;
}

export async function unsubscribe<User>({ server, ctx }: MetaCall<User>, message: Message, session: Session<User>): Promise<Message> {
  const { reply, channels } = start(message, session);
  if (channels === undefined) return reply;
  const invalid = channels.find((c) => !isValidChannel(c));
  if (invalid !== undefined) {
    reply.error = bayeuxError('invalidChannel', invalid);
    return reply;
  }
  // Unsubscribing from something never subscribed succeeds: the end state is the one asked for.
  const removed = await server.engine.unsubscribe(session, channels);
  reply.successful = true;
  if (removed.length > 0) server.logger.debug({ clientId: session.id, channels: removed }, 'express-bayeux: unsubscribe');
  for (const channel of removed) {
    server.emit('unsubscribe', { clientId: session.id, channel, user: ctx.user });
    server.emit('leave', { clientId: session.id, channel, user: ctx.user });
  }
  return reply;
}
