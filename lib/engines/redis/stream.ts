/**
 * The frames that travel on the namespace's one pub/sub channel, in one
 * global order that every node sees the same way. On the wire a frame is its
 * one-letter tag (`WIRE_TAG`), fields separated by newlines (ids and channel
 * names never contain one), and possibly a JSON tail: the tags are unchanged
 * from earlier versions, so nodes of different versions still understand each other.
 */

import type { SubscriptionChange } from '../local-sessions.js';

/** A broadcast: routed by every node to the sessions it owns and its local subscribers. */
export interface BroadcastFrame {
  kind: 'broadcast';
  channel: string;
  /** The publisher's clientId ('' for none), for local subscribers. */
  publisher: string;
  /** On a history channel: the message's offset (its JSON carries the whole position). */
  offset?: number | undefined;
  json: string;
}
/** A message for one session (`server.push`, a service reply): delivered by its owner. */
interface SessionMessageFrame {
  kind: 'session-message';
  id: string;
  json: string;
}
/** Subscriptions another node added or removed for a session: its owner indexes them. */
export interface SubscriptionsFrame {
  kind: SubscriptionChange;
  id: string;
  channels: string[];
}
/** The session moves to `owner`: the old owner delivers up to here and hands its queue over, the new one starts here. */
export interface SessionMovedFrame {
  kind: 'session-moved';
  id: string;
  owner: string;
}
/** The session ended: its owner drops its local object. */
export interface SessionEndedFrame {
  kind: 'session-ended';
  id: string;
  reason: string;
}
/** A marker a node publishes to itself, to know that everything before it was routed. */
interface EchoFrame {
  kind: 'echo';
  node: string;
  token: string;
}
/** Subscribe a session to a history channel from a position: done by its owner, which replays then goes live. */
export interface ReplayFrame {
  kind: 'replay';
  id: string;
  channel: string;
  /** The `ReplayFrom`, as JSON. */
  from: string;
}

export type StreamFrame =
  | BroadcastFrame
  | SessionMessageFrame
  | SubscriptionsFrame
  | SessionMovedFrame
  | SessionEndedFrame
  | EchoFrame
  | ReplayFrame;

/** The wire tag of each kind of frame. */
const WIRE_TAG = {
  broadcast: 'b',
  /** A broadcast on a history channel: its offset comes before the JSON. */
  positioned: 'o',
  'session-message': 'p',
  subscribe: 's',
  unsubscribe: 'u',
  'session-moved': 'h',
  'session-ended': 'd',
  echo: 'x',
  replay: 'r',
} as const satisfies Record<StreamFrame['kind'] | 'positioned', string>;

/** The start of a positioned broadcast, up to its offset: the history script appends the offset, a newline and the JSON. */
export function positionedHead(channel: string, publisher: string): string {
  return `${WIRE_TAG.positioned}${channel}\n${publisher}\n`;
}

export function encode(frame: StreamFrame): string {
  const tag = WIRE_TAG[frame.kind];
  switch (frame.kind) {
    case 'broadcast':
      if (frame.offset !== undefined) return `${WIRE_TAG.positioned}${frame.channel}\n${frame.publisher}\n${frame.offset}\n${frame.json}`;
      return `${tag}${frame.channel}\n${frame.publisher}\n${frame.json}`;
    case 'session-message':
      return `${tag}${frame.id}\n${frame.json}`;
    case 'subscribe':
    case 'unsubscribe':
      return `${tag}${frame.id}\n${JSON.stringify(frame.channels)}`;
    case 'session-moved':
      return `${tag}${frame.id}\n${frame.owner}`;
    case 'session-ended':
      return `${tag}${frame.id}\n${frame.reason}`;
    case 'echo':
      return `${tag}${frame.node}\n${frame.token}`;
    case 'replay':
      return `${tag}${frame.id}\n${frame.channel}\n${frame.from}`;
  }
}

/** Parses a frame; undefined for anything malformed (logged by the caller, never thrown). */
export function decode(payload: string): StreamFrame | undefined {
  const first = payload.indexOf('\n');
  if (first === -1) return undefined;
  const head = payload.slice(1, first);
  const rest = payload.slice(first + 1);
  switch (payload[0]) {
    case WIRE_TAG.broadcast: {
      const second = rest.indexOf('\n');
      if (second === -1) return undefined;
      return { kind: 'broadcast', channel: head, publisher: rest.slice(0, second), json: rest.slice(second + 1) };
    }
    case WIRE_TAG.positioned: {
      const second = rest.indexOf('\n');
      const third = second === -1 ? -1 : rest.indexOf('\n', second + 1);
      const offset = third === -1 ? Number.NaN : Number(rest.slice(second + 1, third));
      if (!Number.isSafeInteger(offset)) return undefined;
      return { kind: 'broadcast', channel: head, publisher: rest.slice(0, second), offset, json: rest.slice(third + 1) };
    }
    case WIRE_TAG['session-message']:
      return { kind: 'session-message', id: head, json: rest };
    case WIRE_TAG.subscribe:
    case WIRE_TAG.unsubscribe: {
      const channels = JSON.parse(rest) as unknown;
      if (!Array.isArray(channels) || !channels.every((c) => typeof c === 'string')) return undefined;
      return { kind: payload[0] === WIRE_TAG.subscribe ? 'subscribe' : 'unsubscribe', id: head, channels };
    }
    case WIRE_TAG['session-moved']:
      return { kind: 'session-moved', id: head, owner: rest };
    case WIRE_TAG['session-ended']:
      return { kind: 'session-ended', id: head, reason: rest };
    case WIRE_TAG.echo:
      return { kind: 'echo', node: head, token: rest };
    case WIRE_TAG.replay: {
      const second = rest.indexOf('\n');
      if (second === -1) return undefined;
      return { kind: 'replay', id: head, channel: rest.slice(0, second), from: rest.slice(second + 1) };
    }
    default:
      return undefined;
  }
}
