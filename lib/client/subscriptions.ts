/** The client's subscriptions: handlers by channel pattern, and dispatch of deliveries to them. */
import { matches } from '../protocol/channel.js';
import type { Message } from '../protocol/message.js';
import type { ReplayStart } from './positions.js';

/**
 * Receives every message delivered on a subscribed channel or pattern. What it
 * returns is ignored, except that a rejected promise is reported (`handler-error`).
 */
export type MessageHandler = (message: Message) => unknown;

/** Options of `client.subscribe()`. */
export interface SubscribeOptions {
  /** Where to start on a history channel: -1 new messages only, -2 everything kept, or after a position. */
  replay?: ReplayStart;
}

/** A subscription; `cancel()` removes its handler (and unsubscribes when it was the channel's last). */
export interface Subscription {
  readonly channel: string;
  cancel(): Promise<void>;
}

export class Subscriptions {
  private readonly byPattern = new Map<string, Set<MessageHandler>>();

  /** Adds a handler; true when the pattern is new (the server must be told). */
  add(pattern: string, handler: MessageHandler): boolean {
    const handlers = this.byPattern.get(pattern);
    if (handlers !== undefined) {
      handlers.add(handler);
      return false;
    }
    this.byPattern.set(pattern, new Set([handler]));
    return true;
  }

  /** Removes a handler; true when it was the pattern's last one (the server must be told). */
  remove(pattern: string, handler: MessageHandler): boolean {
    const handlers = this.byPattern.get(pattern);
    if (handlers === undefined || !handlers.delete(handler)) return false;
    if (handlers.size > 0) return false;
    this.byPattern.delete(pattern);
    return true;
  }

  /** Every pattern with handlers, to subscribe again after a new handshake. */
  patterns(): string[] {
    return [...this.byPattern.keys()];
  }

  /** Calls each handler whose pattern matches, once per handler; `failed` gets what one threw or its promise rejected with. */
  dispatch(message: Message, failed: (err: unknown, message: Message) => void): void {
    const called = new Set<MessageHandler>();
    for (const [pattern, handlers] of this.byPattern) {
      if (!matches(pattern, message.channel)) continue;
      for (const handler of handlers) {
        if (called.has(handler)) continue;
        called.add(handler);
        try {
          const result = handler(message);
          if (isThenable(result)) result.then(undefined, (err: unknown) => failed(err, message));
        } catch (err) {
          failed(err, message);
        }
      }
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}
