/**
 * The frames nodes exchange through Redis pub/sub. Broadcasts travel on the
 * channel of each pattern that can match their channel (interest.ts), so only
 * nodes that want them receive them; everything else about a session goes to
 * one node's own channel `<ns>:to:<node>`. On the wire a frame is its
 * one-letter tag (`WIRE_TAG`), fields separated by newlines (ids and channel
 * names never contain one), and possibly a JSON tail.
 */

import type { SubscriptionChange } from '../local-sessions.js';

/**
 * A broadcast: routed by each node that receives it to the sessions it owns
 * and its local subscribers. Published once per pattern that matches its
 * channel, in one script, so a node subscribed to several of them receives
 * the copies one after the other: `id` (unique per publish) tells the copies apart.
 */
export interface BroadcastFrame {
  kind: 'broadcast';
  id: string;
  channel: string;
  /** The publisher's clientId ('' for none), for local subscribers. */
  publisher: string;
  /** On a history channel: the message's offset (its JSON carries the whole position). */
  offset?: number | undefined;
  json: string;
}
/** A message for one session (`server.push`, a service reply): delivered by its owner. */
export interface SessionMessageFrame {
  kind: 'session-message';
  id: string;
  /** Sent on by a node that had just handed the session over (at most once). */
  forwarded: boolean;
  json: string;
}
/** Subscriptions another node added or removed for a session: its owner indexes them, then acknowledges to `reply`. */
export interface SubscriptionsFrame {
  kind: SubscriptionChange;
  id: string;
  /** The node waiting for the acknowledgement, and its token. */
  reply: string;
  token: string;
  channels: string[];
}
/** The owner applied a subscriptions frame (and, for a subscribe, Redis confirmed its interest). */
interface AckFrame {
  kind: 'ack';
  token: string;
}
/** The old owner's answer to a session move: the queue and state it held. */
interface HandoverFrame {
  kind: 'handover';
  /** The `Handover`, as JSON. */
  json: string;
}
/**
 * The session moves to `owner`: the old owner delivers up to here and hands
 * its queue over, the new one starts here. On a Redis Cluster "here" is
 * `cut`: per pattern of the session, the last number the old owner delivers
 * (ownership.ts); on one Redis it is the marker's place in the stream.
 */
export interface SessionMovedFrame {
  kind: 'session-moved';
  id: string;
  owner: string;
  /** Pattern and number pairs, as JSON. */
  cut?: string | undefined;
}
/** On a Redis Cluster: `node` wants a wildcard pattern now, or no longer (wildcards.ts); acknowledged to `reply` when `token` is set. */
export interface WildcardFrame {
  kind: 'wildcard';
  pattern: string;
  node: string;
  wanted: boolean;
  reply: string;
  token: string;
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

export type Frame =
  | BroadcastFrame
  | SessionMessageFrame
  | SubscriptionsFrame
  | AckFrame
  | HandoverFrame
  | SessionMovedFrame
  | SessionEndedFrame
  | EchoFrame
  | ReplayFrame
  | WildcardFrame;

/** The wire tag of each kind of frame. */
const WIRE_TAG = {
  broadcast: 'm',
  /** A broadcast on a history channel: its offset comes before the JSON. */
  positioned: 'q',
  'session-message': 'p',
  /** A session message sent on by the node that had just handed the session over. */
  forwarded: 'P',
  subscribe: 's',
  unsubscribe: 'u',
  ack: 'a',
  handover: 'H',
  'session-moved': 'h',
  'session-ended': 'd',
  echo: 'x',
  replay: 'r',
  wildcard: 'w',
} as const satisfies Record<Frame['kind'] | 'positioned' | 'forwarded', string>;

/** The start of a positioned broadcast, up to its offset: the history script appends the offset, a newline and the JSON. */
export function positionedHead(id: string, channel: string, publisher: string): string {
  return `${WIRE_TAG.positioned}${id}\n${channel}\n${publisher}\n`;
}

export function encode(frame: Frame): string {
  const tag = WIRE_TAG[frame.kind];
  switch (frame.kind) {
    case 'broadcast':
      if (frame.offset !== undefined) return `${positionedHead(frame.id, frame.channel, frame.publisher)}${frame.offset}\n${frame.json}`;
      return `${tag}${frame.id}\n${frame.channel}\n${frame.publisher}\n${frame.json}`;
    case 'session-message':
      return `${frame.forwarded ? WIRE_TAG.forwarded : tag}${frame.id}\n${frame.json}`;
    case 'subscribe':
    case 'unsubscribe':
      return `${tag}${frame.id}\n${frame.reply}\n${frame.token}\n${JSON.stringify(frame.channels)}`;
    case 'ack':
      return `${tag}${frame.token}\n`;
    case 'handover':
      return `${tag}\n${frame.json}`;
    case 'session-moved':
      return frame.cut === undefined ? `${tag}${frame.id}\n${frame.owner}` : `${tag}${frame.id}\n${frame.owner}\n${frame.cut}`;
    case 'session-ended':
      return `${tag}${frame.id}\n${frame.reason}`;
    case 'echo':
      return `${tag}${frame.node}\n${frame.token}`;
    case 'replay':
      return `${tag}${frame.id}\n${frame.channel}\n${frame.from}`;
    case 'wildcard':
      return `${tag}${frame.node}\n${frame.reply}\n${frame.token}\n${frame.wanted ? '+' : '-'}\n${frame.pattern}`;
  }
}

/** Parses a frame; undefined for anything malformed (logged by the caller, never thrown). */
export function decode(payload: string): Frame | undefined {
  const first = payload.indexOf('\n');
  if (first === -1) return undefined;
  const head = payload.slice(1, first);
  const rest = payload.slice(first + 1);
  switch (payload[0]) {
    case WIRE_TAG.broadcast: {
      const [channel, publisher, json] = fields(rest, 2);
      if (json === undefined) return undefined;
      return { kind: 'broadcast', id: head, channel, publisher: publisher as string, json };
    }
    case WIRE_TAG.positioned: {
      const [channel, publisher, at, json] = fields(rest, 3);
      const offset = json === undefined ? Number.NaN : Number(at);
      if (!Number.isSafeInteger(offset)) return undefined;
      return { kind: 'broadcast', id: head, channel, publisher: publisher as string, offset, json: json as string };
    }
    case WIRE_TAG['session-message']:
    case WIRE_TAG.forwarded:
      return { kind: 'session-message', id: head, forwarded: payload[0] === WIRE_TAG.forwarded, json: rest };
    case WIRE_TAG.subscribe:
    case WIRE_TAG.unsubscribe: {
      const [reply, token, list] = fields(rest, 2);
      if (list === undefined) return undefined;
      const channels = JSON.parse(list) as unknown;
      if (!Array.isArray(channels) || !channels.every((c) => typeof c === 'string')) return undefined;
      const kind = payload[0] === WIRE_TAG.subscribe ? 'subscribe' : 'unsubscribe';
      return { kind, id: head, reply, token: token as string, channels };
    }
    case WIRE_TAG.ack:
      return { kind: 'ack', token: head };
    case WIRE_TAG.handover:
      return { kind: 'handover', json: rest };
    case WIRE_TAG['session-moved']: {
      const [owner, cut] = fields(rest, 1);
      return { kind: 'session-moved', id: head, owner, cut };
    }
    case WIRE_TAG['session-ended']:
      return { kind: 'session-ended', id: head, reason: rest };
    case WIRE_TAG.echo:
      return { kind: 'echo', node: head, token: rest };
    case WIRE_TAG.replay: {
      const second = rest.indexOf('\n');
      if (second === -1) return undefined;
      return { kind: 'replay', id: head, channel: rest.slice(0, second), from: rest.slice(second + 1) };
    }
    case WIRE_TAG.wildcard: {
      const [reply, token, sign, pattern] = fields(rest, 3);
      if (pattern === undefined || (sign !== '+' && sign !== '-')) return undefined;
      return { kind: 'wildcard', node: head, reply, token: token as string, wanted: sign === '+', pattern };
    }
    default:
      return undefined;
  }
}

/** The first character of a numbered broadcast on a Redis Cluster: `#<number>\n<frame>` (scripts.ts `SEQUENCED_FUNCTION`). */
export const SEQUENCED_TAG = 35;

/** Splits a numbered payload into its number and its frame; undefined when malformed. */
export function sequenced(payload: string): { seq: number; frame: string } | undefined {
  const end = payload.indexOf('\n');
  const seq = end === -1 ? Number.NaN : Number(payload.slice(1, end));
  return Number.isSafeInteger(seq) ? { seq, frame: payload.slice(end + 1) } : undefined;
}

/** Splits off the first `count` newline-separated fields; the tail (possibly with newlines) comes last, undefined when missing. */
function fields(text: string, count: number): [string, ...(string | undefined)[]] {
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i < count; i++) {
    const end = text.indexOf('\n', from);
    if (end === -1) return [out[0] ?? text];
    out.push(text.slice(from, end));
    from = end + 1;
  }
  out.push(text.slice(from));
  return out as [string, ...string[]];
}
