/**
 * The client's transports: long-polling, which carries every handshake and
 * is the fallback, and the one messages go over (a WebSocket when both sides
 * offer it and it opens). Once the server refuses the session over
 * WebSocket, long-polling only: no retry loop.
 */
import type { LongPollingTransport } from './long-polling.js';
import type { ClientTransport, ClientTransportName } from './transport.js';
import { WebSocketTransport } from './websocket.js';

export class Links {
  /** The transport messages go over; undefined between sessions and while a socket reopens. */
  current: ClientTransport | undefined;
  private http: LongPollingTransport | undefined;
  /** Set once the server refused this client's sessions over WebSocket. */
  private refused = false;

  constructor(
    private readonly transports: readonly ClientTransportName[],
    private readonly openHttp: () => LongPollingTransport,
    private readonly openSocket: () => Promise<WebSocketTransport>,
  ) {}

  /** Long-polling, opened on first use: handshakes go over it. */
  handshakeTransport(): LongPollingTransport {
    this.http ??= this.openHttp();
    return this.http;
  }

  /** After a handshake, takes the first of the client's transports the server offers that opens; says why when none does. */
  async choose(offered: readonly string[]): Promise<string | undefined> {
    const usable = this.transports.filter((t) => offered.includes(t) && !(t === 'websocket' && this.refused));
    let why = `no common transport (server offers ${offered.join(', ')})`;
    if (usable[0] === 'websocket') {
      try {
        this.current = await this.openSocket();
      } catch (err) {
        this.current = usable.includes('long-polling') ? this.http : undefined;
        why = `${err instanceof Error ? err.message : String(err)}, and long-polling is not among the client's transports`;
      }
    } else if (usable[0] === 'long-polling') {
      this.current = this.http;
    }
    return this.current === undefined ? why : undefined;
  }

  /** True when messages went over a socket that has closed. */
  socketDied(): boolean {
    return this.current instanceof WebSocketTransport && !this.current.usable;
  }

  /** Reopens a socket for the same session, else falls back to long-polling; false when neither is allowed. */
  async reopen(): Promise<boolean> {
    try {
      if (this.refused || !this.transports.includes('websocket')) throw new Error('long-polling only');
      this.current = await this.openSocket();
    } catch {
      this.current = this.transports.includes('long-polling') ? this.http : undefined;
    }
    return this.current !== undefined;
  }

  /** True until the server refuses a session over WebSocket. */
  get socketAllowed(): boolean {
    return !this.refused;
  }

  /** The server refused the session over WebSocket: long-polling from now on; false when the client may not use it. */
  refuseSocket(): boolean {
    this.refused = true;
    const http = this.http;
    if (!this.transports.includes('long-polling') || http === undefined) return false;
    if (this.current !== undefined && this.current !== http) this.current.close();
    this.current = http;
    return true;
  }

  /** True when messages go over long-polling. */
  onLongPolling(): boolean {
    return this.current !== undefined && this.current === this.http;
  }

  /** Closes both transports (a new session opens them again). */
  close(): void {
    if (this.current !== undefined && this.current !== this.http) this.current.close();
    this.current = undefined;
    this.http?.close();
    this.http = undefined;
  }
}
