/**
 * Stamping a position into a message serialized once. The message is
 * serialized with marks where the offset and epoch go; the engine, once it
 * knows the position, fills the holes (the Redis engine does it in Lua, in the
 * same script as XADD and PUBLISH). Neither the message nor the application's
 * data object is modified.
 */
import { randomBytes } from 'node:crypto';
import type { Message } from '../../protocol/message.js';

/** A message's position in its channel's history. */
export interface Position {
  /** Grows by one per message on the channel, within an epoch. */
  offset: number;
  /** Changes whenever the channel's history is lost; compare it before trusting an offset. */
  epoch: string;
}

/** A serialized message with holes for its position: `parts[0] hole[0] parts[1] ... parts[n]`. */
export interface PositionTemplate {
  readonly parts: readonly string[];
  readonly holes: readonly ('offset' | 'epoch')[];
}

/** Builds templates with marks no application data can contain (random per process). */
export class Stamper {
  private readonly offsetMark = `\u0000o${randomBytes(9).toString('base64url')}`;
  private readonly epochMark = `\u0000e${randomBytes(9).toString('base64url')}`;

  constructor(private readonly salesforce: boolean) {}

  /** The template of `message`: `ext.position` = { offset, epoch }, and `data.event.replayId` for Salesforce. */
  template(message: Message): PositionTemplate {
    const stamped: Message = { ...message, ext: { ...message.ext, position: { offset: this.offsetMark, epoch: this.epochMark } } };
    const data = message.data;
    if (this.salesforce && isRecord(data)) {
      const event = data.event;
      if (event === undefined || isRecord(event)) stamped.data = { ...data, event: { ...event, replayId: this.offsetMark } };
    }
    const json = JSON.stringify(stamped);
    const offsetMark = JSON.stringify(this.offsetMark);
    const epochMark = JSON.stringify(this.epochMark);
    const parts: string[] = [];
    const holes: ('offset' | 'epoch')[] = [];
    let from = 0;
    for (;;) {
      const o = json.indexOf(offsetMark, from);
      const e = json.indexOf(epochMark, from);
      if (o === -1 && e === -1) break;
      const isOffset = o !== -1 && (e === -1 || o < e);
      const at = isOffset ? o : e;
      parts.push(json.slice(from, at));
      holes.push(isOffset ? 'offset' : 'epoch');
      from = at + (isOffset ? offsetMark.length : epochMark.length);
    }
    parts.push(json.slice(from));
    return { parts, holes };
  }
}

/** The template with its position filled in. */
export function fill(template: PositionTemplate, position: Position): string {
  const { parts, holes } = template;
  let json = parts[0] as string;
  for (let i = 0; i < holes.length; i++) {
    json += holes[i] === 'offset' ? String(position.offset) : JSON.stringify(position.epoch);
    json += parts[i + 1] as string;
  }
  return json;
}

/** `message` with its position, for local subscribers (a copy: the publisher's object is left alone). */
export function positioned(message: Message, position: Position, salesforce: boolean): Message {
  const out: Message = { ...message, ext: { ...message.ext, position: { ...position } } };
  const data = message.data;
  if (salesforce && isRecord(data) && (data.event === undefined || isRecord(data.event))) {
    out.data = { ...data, event: { ...(data.event as Record<string, unknown> | undefined), replayId: position.offset } };
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
