/**
 * /meta/connect (Bayeux 1.0 §4.2).
 * Request MUST: channel, clientId, connectionType. MAY: ext, id, advice (timeout).
 * Reply MUST: channel, successful, clientId. MAY: error, advice, ext, id, timestamp.
 * The reply is not sent here: the connection registry holds it until messages
 * are queued or the hold time passes.
 */
import { isPromise, type MaybePromise } from '../../engines/maybe-promise.js';
import type { Session } from '../../engines/session.js';
import { holdTime } from '../../protocol/advice.js';
import { bayeuxError } from '../../protocol/errors.js';
import { type Message, replyTo } from '../../protocol/message.js';
import type { MetaCall } from '../context.js';
import type { ConnectionType } from '../options/types.js';

export function connect<User>(call: MetaCall<User>, message: Message, session: Session<User>): MaybePromise<Message | undefined> {
  const { server } = call;
  const reply = replyTo(message, false);
  reply.clientId = session.id;
  const type = message.connectionType;
  if (typeof type !== 'string') {
    reply.error = bayeuxError('missingParameter', 'connectionType');
    return reply;
  }
  if (!server.supports(type)) {
    reply.error = bayeuxError('connectionTypeMismatch', type);
    return reply;
  }
  // A draining node does not take over a session another node delivers to: it sends the client on at once.
  if (server.draining && server.engine.owns?.(session.id) === false) {
    reply.successful = true;
    reply.advice = server.retryElsewhere();
    return reply;
  }
  // Deliveries for this session now leave from this node (at once when they already do).
  const local = server.engine.claim(session);
  if (isPromise(local)) return claimedAfter(local, call, message, reply, type);
  return claimed(call, message, reply, type, local);
}

function claimedAfter<User>(
  local: Promise<Session<User>>,
  call: MetaCall<User>,
  message: Message,
  reply: Message,
  type: ConnectionType,
): Promise<undefined> {
  return local.then((session) => claimed(call, message, reply, type, session));
}

/** The session is delivered to from here: acknowledgements, confirmed positions, then the held reply. */
function claimed<User>(
  call: MetaCall<User>,
  message: Message,
  reply: Message,
  type: ConnectionType,
  local: Session<User>,
): MaybePromise<undefined> {
  // Ack extension: the client names the last batch it received; older ones are done with.
  const acked = local.ack === undefined ? undefined : typeof message.ext?.ack === 'number' ? message.ext.ack : -1;
  if (local.ack !== undefined && acked !== undefined) local.ack.acknowledge(acked);
  // History positions the client has now confirmed: kept first, for a node that takes the session over.
  const confirmed = local.delivered?.confirmable(acked);
  const engine = call.server.engine;
  if (confirmed !== undefined && engine.confirm !== undefined) {
    return confirmedAfter(engine.confirm(local, confirmed), confirmed, call, message, reply, type, local);
  }
  if (confirmed !== undefined) local.delivered?.record(confirmed);
  return held(call, message, reply, type, local);
}

async function confirmedAfter<User>(
  saved: Promise<void>,
  confirmed: ReadonlyMap<string, number>,
  call: MetaCall<User>,
  message: Message,
  reply: Message,
  type: ConnectionType,
  local: Session<User>,
): Promise<undefined> {
  await saved;
  local.delivered?.record(confirmed);
  return held(call, message, reply, type, local);
}

/** Hands the reply to the connection registry: it is sent when messages come or the hold time passes. */
function held<User>(
  { server, request }: MetaCall<User>,
  message: Message,
  reply: Message,
  type: ConnectionType,
  local: Session<User>,
): undefined {
  reply.successful = true;
  reply.advice = server.draining ? server.retryElsewhere() : server.advice();
  local.transport = type;
  server.announcements.connected(local.id, type);
  // Two connects in one batch: the earlier one is answered at once.
  if (request.connect !== undefined) request.replies.push(JSON.stringify(request.connect.reply));
  // Draining: answered at once with what is queued here, never held.
  const hold = server.draining ? 0 : holdTime(message.advice?.timeout, server.options.timeout);
  request.connect = { session: local, reply, hold };
  return undefined;
}
