/** What the core keeps while it processes the messages of one request (or socket frame). */
import type { Engine } from '../engines/engine.js';
import { isPromise, type MaybePromise } from '../engines/maybe-promise.js';
import type { Session } from '../engines/session.js';
import type { PendingConnect } from './connections.js';
import type { ConnectionType, RequestContext } from './options/types.js';

/** The context of a request from a remote client: it came over one of the transports. */
export type RemoteContext<User> = RequestContext<User> & { readonly transport: ConnectionType };

export class RequestState<User = unknown> {
  /** Serialized replies, in the order of the messages they answer. */
  readonly replies: string[] = [];
  /** The connect of this request, answered by the connection registry. */
  connect: PendingConnect<User> | undefined;
  /** A /meta/disconnect of this request ended its session (a socket then closes). */
  disconnected = false;
  /** Browser id (BAYEUX_BROWSER cookie) the request presents; a logged-in handshake binds its session to it. */
  browser: string | undefined;
  /** True when the reply can set a cookie (HTTP), so a handshake may issue a browser id. */
  canSetCookie = false;
  /** A browser id the handshake issued, for the transport to set as a cookie. */
  issuedBrowser: string | undefined;
  /**
   * Sessions looked up by this request, so a batch looks each up once. Most
   * batches name one clientId: it is kept in two fields, a Map only for more.
   */
  private firstId: string | undefined;
  private first: Session<User> | undefined;
  private others: Map<string, Session<User> | undefined> | undefined;

  constructor(
    readonly ctx: RemoteContext<User>,
    /** Identity of `ctx.user`, compared with the identity a session was bound to. */
    readonly userKey: string | undefined,
  ) {}

  /** The session `clientId` names, looked up once per request; at once when the engine answers at once. */
  session(engine: Engine<User>, clientId: string): MaybePromise<Session<User> | undefined> {
    if (clientId === this.firstId || this.others?.has(clientId) === true) {
      const known = clientId === this.firstId ? this.first : this.others?.get(clientId);
      return known?.alive === true ? known : undefined;
    }
    const found = engine.session(clientId);
    if (isPromise(found)) return found.then((session) => this.remembered(clientId, session));
    return this.remembered(clientId, found);
  }

  private remembered(clientId: string, session: Session<User> | undefined): Session<User> | undefined {
    this.remember(clientId, session);
    return session;
  }

  /** Remembers a session the request itself created (handshake) or ended (disconnect). */
  remember(clientId: string, session: Session<User> | undefined): void {
    if (this.firstId === undefined || this.firstId === clientId) {
      this.firstId = clientId;
      this.first = session;
      return;
    }
    this.others ??= new Map();
    this.others.set(clientId, session);
  }
}
