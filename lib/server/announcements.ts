/**
 * `connect` events of sessions handshaken on this node, held until the
 * session's first /meta/connect names the transport it uses; emitted before
 * the session's `disconnect` whatever happens.
 */

import type { ConnectEvent } from './events.js';
import type { ConnectionType } from './options/types.js';

export class ConnectAnnouncements<User> {
  private readonly waiting = new Map<string, { event: ConnectEvent<User>; at: number }>();

  constructor(
    private readonly maxInterval: number,
    private readonly emit: (event: ConnectEvent<User>) => void,
  ) {}

  /** Holds the `connect` event of a new session. */
  add(event: ConnectEvent<User>): void {
    const now = Date.now();
    // Sessions whose first connect went to another node are announced late, with the handshake's transport.
    for (const [id, entry] of this.waiting) {
      if (now - entry.at < this.maxInterval) break;
      this.waiting.delete(id);
      this.emit(entry.event);
    }
    this.waiting.set(event.clientId, { event, at: now });
  }

  /** The session's first /meta/connect: announces it with the transport it holds. */
  connected(clientId: string, transport: ConnectionType): void {
    const entry = this.waiting.get(clientId);
    if (entry === undefined) return;
    this.waiting.delete(clientId);
    entry.event.transport = transport;
    this.emit(entry.event);
  }

  /** The session ended: announces it now if it never connected, so its `disconnect` follows its `connect`. */
  ended(clientId: string): void {
    const entry = this.waiting.get(clientId);
    if (entry === undefined) return;
    this.waiting.delete(clientId);
    this.emit(entry.event);
  }

  clear(): void {
    this.waiting.clear();
  }
}
