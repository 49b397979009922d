/** Queueing one message for a session an engine delivers to: the part every engine shares. */
import type { EngineHost } from './engine.js';
import type { Session } from './session.js';

/**
 * Queues `json` for `session` under the host's queue limits, waking the
 * session when its queue becomes non-empty and reporting the first drop of
 * the `drop-oldest` policy. Returns true when the queue overflowed under the
 * `disconnect` policy: the engine must then end the session.
 */
export function queueFor(host: EngineHost, session: Session, json: string): boolean {
  const { maxQueue, queuePolicy } = host.limits;
  const result = session.enqueue(json, maxQueue, queuePolicy);
  if (result === 'overflow') return true;
  if (result === 'dropped-oldest') {
    if (session.dropped === 1) host.messagesDropped(session, 1);
  } else if (session.queue.length === 1) {
    host.messagesQueued(session);
  }
  return false;
}
