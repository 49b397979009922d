/**
 * CometD's ack extension, client side: each connect names the last batch
 * received, so the server re-sends what a lost reply carried; re-sent
 * messages the application already saw are dropped.
 */
import type { Message } from '../protocol/message.js';

/** Deliveries remembered to drop re-sends. */
const SEEN_LIMIT = 1000;

export class AckState {
  /** On when the client asked for it and the server agreed at handshake. */
  enabled = false;
  private last = -1;
  private readonly seen: string[] = [];

  /** A new session: on when both sides want it, counting batches from scratch. */
  start(enabled: boolean): void {
    this.enabled = enabled;
    this.last = -1;
  }

  /** The `ext` of a /meta/connect, undefined when ack is off. */
  connectExt(): Record<string, unknown> | undefined {
    return this.enabled ? { ack: this.last } : undefined;
  }

  /** A successful connect reply: remembers the batch it numbered. */
  received(reply: Message): void {
    if (this.enabled && typeof reply.ext?.ack === 'number') this.last = reply.ext.ack;
  }

  /** False for a re-delivery after a lost reply (same channel and id): the application sees each message once. */
  firstTime(message: Message): boolean {
    if (!this.enabled || message.id === undefined) return true;
    const key = `${message.channel}\n${String(message.id)}`;
    if (this.seen.includes(key)) return false;
    this.seen.push(key);
    if (this.seen.length > SEEN_LIMIT) this.seen.shift();
    return true;
  }
}
