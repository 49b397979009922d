/**
 * What travels on the namespace's one pub/sub channel, in one global order
 * that every node sees the same way. Each event is a type letter, fields
 * separated by newlines (ids and channel names never contain one), and
 * possibly a JSON tail.
 */

/** A broadcast: routed by every node to the sessions it owns and its local subscribers. */
export interface BroadcastEvent {
  type: 'b';
  channel: string;
  /** The publisher's clientId ('' for none), for local subscribers. */
  publisher: string;
  json: string;
}
/** A message for one session: delivered by its owner. */
export interface PushEvent {
  type: 'p';
  id: string;
  json: string;
}
/** Subscriptions added ('s') or removed ('u') by another node for a session. */
export interface SubscriptionEvent {
  type: 's' | 'u';
  id: string;
  channels: string[];
}
/** The session moves to `owner`: the old owner stops here, the new one starts here. */
export interface HandoverEvent {
  type: 'h';
  id: string;
  owner: string;
}
/** The session ended: its owner drops its local object. */
export interface EndEvent {
  type: 'd';
  id: string;
  reason: string;
}
/** A marker a node publishes to itself to know everything before it was routed. */
export interface SyncEvent {
  type: 'x';
  node: string;
  token: string;
}

/** Subscribe a session to a history channel from a position: done by its owner, which replays then goes live. */
export interface ReplayEvent {
  type: 'r';
  id: string;
  channel: string;
  /** The `ReplayFrom`, as JSON. */
  from: string;
}

export type StreamEvent = BroadcastEvent | PushEvent | SubscriptionEvent | HandoverEvent | EndEvent | SyncEvent | ReplayEvent;

export function encode(event: StreamEvent): string {
  switch (event.type) {
    case 'b':
      return `b${event.channel}\n${event.publisher}\n${event.json}`;
    case 'p':
      return `p${event.id}\n${event.json}`;
    case 's':
    case 'u':
      return `${event.type}${event.id}\n${JSON.stringify(event.channels)}`;
    case 'h':
      return `h${event.id}\n${event.owner}`;
    case 'd':
      return `d${event.id}\n${event.reason}`;
    case 'x':
      return `x${event.node}\n${event.token}`;
    case 'r':
      return `r${event.id}\n${event.channel}\n${event.from}`;
  }
}

/** Parses an event; undefined for anything malformed (logged by the caller, never thrown). */
export function decode(payload: string): StreamEvent | undefined {
  const type = payload[0];
  const first = payload.indexOf('\n');
  if (first === -1) return undefined;
  const head = payload.slice(1, first);
  const rest = payload.slice(first + 1);
  switch (type) {
    case 'b': {
      const second = rest.indexOf('\n');
      if (second === -1) return undefined;
      return { type, channel: head, publisher: rest.slice(0, second), json: rest.slice(second + 1) };
    }
    case 'p':
      return { type, id: head, json: rest };
    case 's':
    case 'u': {
      const channels = JSON.parse(rest) as unknown;
      if (!Array.isArray(channels) || !channels.every((c) => typeof c === 'string')) return undefined;
      return { type, id: head, channels };
    }
    case 'h':
      return { type, id: head, owner: rest };
    case 'd':
      return { type, id: head, reason: rest };
    case 'x':
      return { type, node: head, token: rest };
    case 'r': {
      const second = rest.indexOf('\n');
      if (second === -1) return undefined;
      return { type, id: head, channel: rest.slice(0, second), from: rest.slice(second + 1) };
    }
    default:
      return undefined;
  }
}
