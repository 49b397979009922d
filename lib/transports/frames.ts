/**
 * Pre-encoded WebSocket frames: a broadcast reaches every recipient socket
 * as the same queued JSON strings, so the frame (header + UTF-8 payload) is
 * built once, as one buffer, and the same bytes are written to each socket
 * (one write each), as engine.io does with `ws`'s `Sender.frame`. Falls
 * back to `ws.send` if a future `ws` drops those internals.
 */

import type { WebSocket } from 'ws';
import * as wsModule from 'ws';
import { jsonArray } from './respond.js';

interface FrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
}
type FrameFn = (data: Buffer, options: FrameOptions) => Buffer[];
interface FrameSender {
  sendFrame(list: Buffer[], cb?: (err?: Error) => void): void;
}

const TEXT = { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false } satisfies FrameOptions;

/** `Sender.frame` of the installed `ws` (public since ws 2, untyped in @types/ws). */
const frameOf: FrameFn | undefined = (() => {
  // A named export in ws's ESM wrapper, a property of the module object in CommonJS.
  const sender: unknown = Reflect.get(wsModule, 'Sender');
  const frame: unknown = typeof sender === 'function' ? Reflect.get(sender, 'frame') : undefined;
  return typeof frame === 'function' ? (frame as FrameFn) : undefined;
})();

function senderOf(ws: WebSocket): FrameSender | undefined {
  const sender: unknown = Reflect.get(ws, '_sender');
  if (typeof sender !== 'object' || sender === null) return undefined;
  return typeof (sender as { sendFrame?: unknown }).sendFrame === 'function' ? (sender as FrameSender) : undefined;
}

/**
 * Frames the messages written last, for the sockets that get the same ones
 * next: deliveries of one broadcast are flushed one socket after the other.
 */
export class FrameCache {
  private parts: string[] = [];
  private frame: Buffer[] | undefined;

  /** Writes `messages` as one text frame; `sent` runs once it is flushed to the socket. */
  write(ws: WebSocket, messages: readonly string[], sent: () => void): void {
    const sender = frameOf === undefined ? undefined : senderOf(ws);
    if (sender === undefined) {
      ws.send(jsonArray(messages), sent);
      return;
    }
    sender.sendFrame(this.framed(messages), sent);
  }

  private framed(messages: readonly string[]): Buffer[] {
    const parts = this.parts;
    let same = this.frame !== undefined && parts.length === messages.length;
    for (let i = 0; same && i < parts.length; i++) same = parts[i] === messages[i];
    if (same) return this.frame as Buffer[];
    this.parts = messages.slice();
    // One buffer, not ws's header + payload pair: each socket then takes one write, not a corked writev.
    this.frame = [Buffer.concat((frameOf as FrameFn)(Buffer.from(jsonArray(messages)), TEXT))];
    return this.frame;
  }
}
