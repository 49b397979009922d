/**
 * /meta/connect (Bayeux 1.0 §4.2).
 * Request MUST: channel, clientId, connectionType. MAY: ext, id, advice (timeout).
 * Reply MUST: channel, successful, clientId. MAY: error, advice, ext, id, timestamp.
 * The reply is not sent here: the connection registry holds it until messages
 * are queued or the hold time passes.
 */
import type { Session } from '../../engines/session.js';
import type { ConnectionType } from '../../options.js';
import { holdTime } from '../../protocol/advice.js';
import { bayeuxError } from '../../protocol/errors.js';
import { type Message, replyTo } from '../../protocol/message.js';
import type { ServerCore } from '../core.js';
import type { RequestState } from '../request.js';

export async function connect<User>(
  core: ServerCore<User>,
  message: Message,
  request: RequestState<User>,
  session: Session,
): Promise<Message | undefined> {
  const reply = replyTo(message, false);
  reply.clientId = session.id;
  const type = message.connectionType;
  if (typeof type !== 'string') {
    reply.error = bayeuxError('missingParameter', 'connectionType');
    return reply;
  }
  if (!core.supports(type)) {
    reply.error = bayeuxError('connectionTypeMismatch', type);
    return reply;
  }
  // Deliveries for this session now leave from this node.
  const local = await core.engine.claim(session);
  // Ack extension: the client names the last batch it received; older ones are done with.
  const acked = message.ext?.ack;
  if (local.ack !== undefined && typeof acked === 'number') local.ack.acknowledge(acked);
  reply.successful = true;
  reply.advice = core.advice();
  local.transport = type;
  core.connected(local, type as ConnectionType);
  // Two connects in one batch: the earlier one is answered at once.
  if (request.connect !== undefined) request.replies.push(JSON.stringify(request.connect.reply));
  request.connect = { session: local, reply, hold: holdTime(message.advice?.timeout, core.options.timeout) };
  return undefined;
}
