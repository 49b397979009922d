/**
 * The connection registry: held `/meta/connect` requests and open sockets,
 * counted per client IP. It wakes them when messages are queued (once per
 * event-loop turn, so messages published together leave together), completes
 * them on timeout, replacement, session end and server close, and forgets
 * them when the peer goes away.
 */
import type { Session } from '../engines/session.js';
import type { Advice, Message } from '../protocol/message.js';

/** Where replies and deliveries for a client are written; implemented by each transport. */
export interface Connection {
  /** Client address the connection counts against. */
  readonly ip: string;
  /** True for a socket that carries many frames; false for a single HTTP response. */
  readonly persistent: boolean;
  /** False while a socket's peer is too slow to take more; deliveries then stay queued. */
  readonly writable: boolean;
  /** Writes serialized messages as one JSON array: the whole response, or one frame. */
  write(messages: string[]): void;
}

/** A `/meta/connect` the server core accepted, waiting for the registry to answer it. */
export interface PendingConnect<User = unknown> {
  session: Session<User>;
  reply: Message;
  /** Milliseconds to hold before answering with no messages. */
  hold: number;
}

/**
 * A held connect. Held connects with the same hold time expire in the order
 * they were held, so each hold time keeps them in one linked list, oldest
 * first, under one timer for its head: holding and answering a poll allocate
 * no timer and unlink in O(1).
 */
export class Held<User = unknown> {
  done = false;
  /** When the hold time is up (ms, `Date.now()`; moved earlier if the wall clock goes back, see `expire`). */
  deadline: number;
  /** Neighbours in the list of connects held as long as this one. */
  older: Held<User> | undefined = undefined;
  newer: Held<User> | undefined = undefined;
  /**
   * Where the answer goes and what it says; undefined once answered or
   * abandoned. A held connect lives through a scavenge, so V8 soon allocates
   * Helds in the old generation: one still pointing at its request after the
   * answer kept the request, the response and their headers alive until the
   * next full GC, and every scavenge copied and promoted them (about 2.5 KB
   * per poll, GC pauses 4x the floor's).
   */
  connection: Connection | undefined;
  reply: Message | undefined;

  constructor(
    private readonly registry: ConnectionRegistry<User>,
    readonly session: Session<User>,
    connection: Connection,
    reply: Message,
    readonly hold: number,
  ) {
    this.connection = connection;
    this.reply = reply;
    this.deadline = Date.now() + hold;
  }

  /** The peer went away: forget the connect, keep the session's queue. */
  abandon(): void {
    this.registry.abandon(this);
  }
}

/** Connects held for the same time, oldest first, and the one timer that answers the oldest when its time is up. */
class HoldList<User> {
  constructor(readonly hold: number) {}

  oldest: Held<User> | undefined = undefined;
  newest: Held<User> | undefined = undefined;
  timer: NodeJS.Timeout | undefined = undefined;

  append(held: Held<User>): void {
    held.older = this.newest;
    if (this.newest === undefined) this.oldest = held;
    else this.newest.newer = held;
    this.newest = held;
  }

  unlink(held: Held<User>): void {
    if (held.older === undefined) this.oldest = held.newer;
    else held.older.newer = held.newer;
    if (held.newer === undefined) this.newest = held.older;
    else held.newer.older = held.older;
    held.older = undefined;
    held.newer = undefined;
  }
}

/** Serializes a connect reply at the moment it is sent (outgoing extensions run then). */
export type FinishConnect<User = unknown> = (session: Session<User>, reply: Message) => string | Promise<string>;

/** Counts of what the registry holds, for `server.stats()`. */
export interface ConnectionStats {
  /** Held long-poll connects (and connects held on sockets). */
  held: number;
  /** Sockets carrying a session. */
  sockets: number;
  /** Connections (held requests and sockets) per client IP. */
  perIp: Record<string, number>;
}

export class ConnectionRegistry<User = unknown> {
  /** Counts messages written to clients, by transport; set only while metrics are on. */
  onDelivered: ((transport: string, count: number) => void) | undefined;
  private readonly held = new Map<string, Held<User>>();
  private readonly sockets = new Map<string, Connection>();
  private readonly perIp = new Map<string, number>();
  private pending = new Set<Session<User>>();
  private flushScheduled = false;
  /** Held connects by hold time (ms): a handful of lists, one per hold time clients ask for. */
  private readonly holds = new Map<number, HoldList<User>>();
  private readonly flush = (): void => this.flushPending();

  constructor(
    private readonly finish: FinishConnect<User>,
    private readonly maxPerIp: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /**
   * True when `ip` may open one more held request or socket. A client whose
   * connect replaces its own held one does not count twice.
   */
  mayHold(ip: string, clientId?: string): boolean {
    if (clientId !== undefined && this.held.get(clientId)?.connection?.ip === ip) return true;
    return (this.perIp.get(ip) ?? 0) < this.maxPerIp;
  }

  /** Counts a socket (or other connection held outside this registry) against its IP. */
  acquire(ip: string): void {
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
  }

  /** Releases what `acquire` counted. */
  release(ip: string): void {
    const count = (this.perIp.get(ip) ?? 1) - 1;
    if (count <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, count);
  }

  /**
   * Answers the replies of one request. With a connect, the answer waits
   * until a message is queued or the hold time passes, unless there is
   * something to send already. Returns the held connect, if any.
   */
  respond(connection: Connection, replies: string[], connect: PendingConnect<User> | undefined): Held<User> | undefined {
    if (connect === undefined) {
      if (replies.length > 0) connection.write(replies);
      return undefined;
    }
    const { session } = connect;
    const previous = this.held.get(session.id);
    if (previous !== undefined) this.answer(previous, []);

    if (connection.persistent && session.ack === undefined) {
      // On a socket, messages go out as they come; the connect reply waits for the hold time.
      const queued = connection.writable ? session.take() : [];
      if (queued.length > 0 || replies.length > 0) connection.write(queued.length === 0 ? replies : queued.concat(replies));
      if (queued.length > 0 && this.onDelivered !== undefined) this.onDelivered(session.transport, queued.length);
      if (connect.hold === 0 || !session.alive) return this.send(connection, session, [], connect.reply);
      return this.hold(connection, connect);
    }
    // Long-polling, and acknowledged sessions on any transport: messages only travel in connect replies.
    const busy = replies.length > 0 || session.queue.length > 0 || (session.ack?.unacked.length ?? 0) > 0;
    if (busy || connect.hold === 0 || !session.alive || (!connection.persistent && !this.mayHold(connection.ip))) {
      return this.send(connection, session, replies, connect.reply);
    }
    if (!connection.persistent) this.acquire(connection.ip);
    return this.hold(connection, connect);
  }

  /** The peer of a held request went away (`held.abandon()`): forget it, keep the session's queue. */
  abandon(held: Held<User>): void {
    if (held.done) return;
    this.forget(held);
  }

  /** A session's queue became non-empty: deliver on the next turn of the event loop. */
  wake(session: Session<User>): void {
    if (!this.held.has(session.id) && !this.sockets.has(session.id)) return;
    this.pending.add(session);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  /** A socket now carries deliveries for `session`; anything queued goes out at once. */
  attachSocket(session: Session<User>, connection: Connection): void {
    const current = this.sockets.get(session.id);
    if (current === connection) return;
    if (current === undefined) session.connections++;
    this.sockets.set(session.id, connection);
    if (session.queue.length > 0) this.wake(session);
  }

  /** The socket no longer carries `session` (closed, or the session moved). */
  detachSocket(session: Session<User>, connection: Connection): void {
    if (this.sockets.get(session.id) !== connection) return;
    this.sockets.delete(session.id);
    session.connections--;
    session.lastSeen = Date.now();
    const held = this.held.get(session.id);
    if (held !== undefined && held.connection === connection) this.forget(held);
  }

  /** A session ended: answer its held connect with `reply` (an error and its advice). */
  drop(session: Session<User>, reply: Message): void {
    const held = this.held.get(session.id);
    const connection = held?.connection;
    if (held !== undefined && connection !== undefined) {
      const waiting = held.reply;
      this.forget(held);
      this.write(connection, session, [], { ...waiting, ...reply });
    }
    const socket = this.sockets.get(session.id);
    if (socket !== undefined) this.detachSocket(session, socket);
  }

  /** Another node delivers to `session` now: answer its held connect as usual and let its socket go. */
  relinquish(session: Session<User>): void {
    const held = this.held.get(session.id);
    if (held !== undefined) this.answer(held, []);
    const socket = this.sockets.get(session.id);
    if (socket !== undefined) this.detachSocket(session, socket);
  }

  /** Answers every held connect at once with `advice` (the server is draining): its client goes on elsewhere. */
  answerAll(advice: () => Advice): void {
    for (const held of [...this.held.values()]) {
      if (held.reply !== undefined) held.reply.advice = advice();
      this.answer(held, []);
    }
  }

  /** Answers every held connect (the server is closing). */
  closeAll(): void {
    for (const held of [...this.held.values()]) this.answer(held, []);
    this.pending.clear();
  }

  stats(): ConnectionStats {
    return { held: this.held.size, sockets: this.sockets.size, perIp: Object.fromEntries(this.perIp) };
  }

  private hold(connection: Connection, connect: PendingConnect<User>): Held<User> {
    const held = new Held(this, connect.session, connection, connect.reply, connect.hold);
    let list = this.holds.get(held.hold);
    if (list === undefined) {
      list = new HoldList(held.hold);
      this.holds.set(held.hold, list);
    }
    list.append(held);
    if (list.timer === undefined) this.expireLater(list, held.hold);
    this.held.set(connect.session.id, held);
    connect.session.connections++;
    return held;
  }

  /** Arms the list's timer for its oldest connect. */
  private expireLater(list: HoldList<User>, wait: number): void {
    list.timer = setTimeout(() => this.expire(list), wait);
  }

  /**
   * Answers the connects whose hold time is up, oldest first, and waits for
   * the next one. Deadlines are wall-clock time (tests fake `Date`); should the
   * clock go back, no deadline is left further away than one hold time, so a
   * connect is held at most twice as long as it asked, never for ever.
   */
  private expire(list: HoldList<User>): void {
    list.timer = undefined;
    const now = Date.now();
    // Answering the last one removes the list (forget).
    while (list.oldest !== undefined && list.oldest.deadline <= now) this.answer(list.oldest, []);
    const oldest = list.oldest;
    if (oldest === undefined) return;
    if (oldest.deadline - now > list.hold) {
      for (let held: Held<User> | undefined = oldest; held !== undefined; held = held.newer)
        held.deadline = Math.min(held.deadline, now + list.hold);
    }
    this.expireLater(list, oldest.deadline - now);
  }

  private flushPending(): void {
    this.flushScheduled = false;
    const sessions = this.pending;
    this.pending = new Set();
    for (const session of sessions) {
      if (!session.alive || session.queue.length === 0) continue;
      const socket = this.sockets.get(session.id);
      if (socket !== undefined && session.ack === undefined) {
        if (socket.writable) {
          const queued = session.take();
          socket.write(queued);
          if (this.onDelivered !== undefined) this.onDelivered(session.transport, queued.length);
        }
        continue;
      }
      const held = this.held.get(session.id);
      if (held !== undefined) this.answer(held, []);
    }
  }

  /** Completes a held connect with what is queued, the replies and the connect reply. */
  private answer(held: Held<User>, replies: string[]): void {
    const { connection, reply } = held;
    if (held.done || connection === undefined || reply === undefined) return;
    this.forget(held);
    this.send(connection, held.session, replies, reply);
  }

  private forget(held: Held<User>): void {
    held.done = true;
    const list = this.holds.get(held.hold);
    if (list !== undefined) {
      list.unlink(held);
      // No timer outlives the connects it answers (a closed server leaves none behind).
      if (list.oldest === undefined) {
        clearTimeout(list.timer);
        this.holds.delete(held.hold);
      }
    }
    if (this.held.get(held.session.id) === held) this.held.delete(held.session.id);
    held.session.connections--;
    held.session.lastSeen = Date.now();
    if (held.connection !== undefined && !held.connection.persistent) this.release(held.connection.ip);
    held.connection = undefined;
    held.reply = undefined;
  }

  private send(connection: Connection, session: Session<User>, replies: string[], reply: Message): undefined {
    // Queued messages first: the client handles them before it reconnects.
    let queued: string[];
    let batch = 0;
    if (!session.alive) queued = [];
    else if (session.ack !== undefined) {
      const next = session.ack.next(session.take());
      queued = next.messages;
      batch = next.batch;
      reply.ext = { ...reply.ext, ack: batch };
    } else queued = connection.persistent ? [] : session.take();
    // What was written up to this reply is confirmed by the client's next connect (or its ack of `batch`).
    session.delivered?.replying(batch);
    if (queued.length > 0 && this.onDelivered !== undefined) this.onDelivered(session.transport, queued.length);
    this.write(connection, session, queued.length === 0 ? replies : queued.concat(replies), reply);
    return undefined;
  }

  private write(connection: Connection, session: Session<User>, parts: string[], reply: Message): void {
    let finished: string | Promise<string>;
    try {
      finished = this.finish(session, reply);
    } catch (err) {
      this.onError(err);
      finished = JSON.stringify(reply);
    }
    if (typeof finished === 'string') {
      parts.push(finished);
      connection.write(parts);
      return;
    }
    finished.then(
      (json) => {
        parts.push(json);
        connection.write(parts);
      },
      (err: unknown) => {
        this.onError(err);
        parts.push(JSON.stringify(reply));
        connection.write(parts);
      },
    );
  }
}
