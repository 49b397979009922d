/**
 * /meta/disconnect (Bayeux 1.0 §4.3).
 * Request MUST: channel, clientId. MAY: ext, id.
 * Reply MUST: channel, successful, clientId. MAY: error, ext, id.
 * Ending the session answers its held connect (with reconnect "none").
 */
import type { Session } from '../../engines/session.js';
import { type Message, replyTo } from '../../protocol/message.js';
import type { MetaCall } from '../context.js';

export async function disconnect<User>({ server, request }: MetaCall<User>, message: Message, session: Session<User>): Promise<Message> {
  const reply = replyTo(message, true);
  reply.clientId = session.id;
  await server.engine.destroySession(session.id, 'client');
  request.remember(session.id, undefined);
  request.disconnected = true;
  return reply;
}
