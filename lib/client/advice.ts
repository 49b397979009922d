/** The server's latest advice, as the client follows it (Bayeux 1.0 §5). */
import type { Advice } from '../protocol/message.js';

export class ServerAdvice {
  reconnect: 'retry' | 'handshake' | 'none' = 'retry';
  interval = 0;
  timeout = 30_000;

  /** Keeps the valid fields of a reply's advice; the others stay as they were. */
  take(advice: Advice | undefined): void {
    if (advice === undefined) return;
    if (advice.reconnect === 'retry' || advice.reconnect === 'handshake' || advice.reconnect === 'none') this.reconnect = advice.reconnect;
    if (typeof advice.interval === 'number' && advice.interval >= 0) this.interval = advice.interval;
    if (typeof advice.timeout === 'number' && advice.timeout >= 0) this.timeout = advice.timeout;
  }
}
