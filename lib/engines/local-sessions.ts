/**
 * The sessions an engine delivers to from this node, with the wildcard index
 * of their subscriptions and their queues: every session for the memory
 * engine, those whose `/meta/connect` came here for the Redis engine. Both
 * engines compose one; it also holds the host and the engine's sweep timer.
 */
import { ChannelIndex } from '../protocol/channel-index.js';
import type { EngineHost, LocalCounts } from './engine.js';
import type { DisconnectReason, Session } from './session.js';

/** The sweep period for a `maxInterval`: a quarter of it, between 10 ms and 1 s. */
export function sweepEvery(maxInterval: number): number {
  return Math.min(1000, Math.max(10, Math.floor(maxInterval / 4)));
}

/** Adding (`subscribe`) or removing (`unsubscribe`) subscriptions. */
export type SubscriptionChange = 'subscribe' | 'unsubscribe';

/** Told when the first session subscribes to a pattern (`wanted` true) and when the last one leaves it. */
export type PatternListener = (pattern: string, wanted: boolean) => void;

export class LocalSessions<User> {
  /** The Redis engine subscribes to a pattern's channel while some session here holds the pattern. */
  onPattern: PatternListener | undefined;
  private readonly owned = new Map<string, Session<User>>();
  private readonly index = new ChannelIndex<Session<User>>();
  private opened: EngineHost<User> | undefined;
  private sweeper: NodeJS.Timeout | undefined;

  /**
   * `engine` names the engine in errors; `overflowed` ends a session whose
   * queue passed `maxQueue` under the `disconnect` policy.
   */
  constructor(
    private readonly engine: string,
    private readonly overflowed: (session: Session<User>) => void,
  ) {}

  /** Attaches the server core; an engine serves one server. */
  open(host: EngineHost<User>): void {
    if (this.opened !== undefined) throw new Error(`${this.engine}: an engine serves one server; create one per bayeux()`);
    this.opened = host;
  }

  /** Calls `sweep` every `every` ms until `close()`. */
  startSweeper(every: number, sweep: () => void): void {
    this.sweeper = setInterval(sweep, every);
    this.sweeper.unref();
  }

  /** Stops the sweeper; the host stays attached, for what finishes after. */
  close(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** True once `open()` attached a host. */
  get isOpen(): boolean {
    return this.opened !== undefined;
  }

  /** The server core; throws before `open()`. */
  get host(): EngineHost<User> {
    if (this.opened === undefined) throw new Error(`${this.engine}: used before the server opened it`);
    return this.opened;
  }

  get(id: string): Session<User> | undefined {
    return this.owned.get(id);
  }

  get size(): number {
    return this.owned.size;
  }

  ids(): IterableIterator<string> {
    return this.owned.keys();
  }

  sessions(): IterableIterator<Session<User>> {
    return this.owned.values();
  }

  /** From now on this node delivers to `session`: its subscriptions are indexed here. */
  add(session: Session<User>): void {
    this.owned.set(session.id, session);
  }

  /** Adds subscription patterns to the index (or removes them); returns those that were new (or present). */
  change(session: Session<User>, channels: readonly string[], change: SubscriptionChange): string[] {
    const changed: string[] = [];
    for (const channel of channels) {
      if (change === 'subscribe') {
        if (!this.index.add(channel, session)) continue;
        session.channels.add(channel);
        if (this.onPattern !== undefined && this.index.subscribers(channel)?.size === 1) this.onPattern(channel, true);
      } else {
        if (!this.index.remove(channel, session)) continue;
        session.channels.delete(channel);
        session.delivered?.forget(channel);
        this.left(channel);
      }
      changed.push(channel);
    }
    return changed;
  }

  /** Calls `visit(session, arg)` once for every session subscribed to a pattern matching `channel`. */
  route<A>(channel: string, visit: (session: Session<User>, arg: A) => void, arg: A): void {
    this.index.match(channel, visit, arg);
  }

  /** Sessions subscribed to exactly `channel` (the pattern as subscribed). */
  subscribersOf(channel: string): Iterable<Session<User>> {
    return this.index.subscribers(channel) ?? [];
  }

  /**
   * Queues a message for a session under the host's queue limits: wakes the
   * session when its queue becomes non-empty, reports the first drop of a
   * `drop-oldest` episode, and ends the session when its queue overflows
   * under the `disconnect` policy.
   */
  deliver(session: Session<User>, json: string): void {
    const host = this.host;
    const result = session.enqueue(json, host.limits.maxQueue, host.limits.queuePolicy);
    if (result === 'overflow') this.overflowed(session);
    else if (result === 'dropped-oldest') {
      if (session.dropped === 1) host.messagesDropped(session, 1);
    } else if (session.queue.length === 1) {
      host.messagesQueued(session);
    }
  }

  /** Queues a history message at `offset` of the concrete `channel`, unless the session was given it already. */
  deliverAt(session: Session<User>, json: string, channel: string, offset: number): void {
    if (session.positions().admit(channel, offset)) this.deliver(session, json);
  }

  /**
   * A replay of `channel` after `offset` starts for a session that may hold
   * some of it already: what it holds of the channel after that offset
   * (queued, or written and not acknowledged) goes, since the replay brings
   * it again, in order, once. Rare (a re-subscribe with a position), so the
   * held messages are parsed here rather than tagged on the hot path.
   */
  rewind(session: Session<User>, channel: string, offset: number): void {
    if (!session.positions().rewind(channel, offset)) return;
    const later = (json: string): boolean => {
      const message = JSON.parse(json) as { channel?: unknown; ext?: { position?: { offset?: unknown } } };
      const at = message.ext?.position?.offset;
      return message.channel === channel && typeof at === 'number' && at > offset;
    };
    session.queue = session.queue.filter((json) => !later(json));
    if (session.ack !== undefined) session.ack.unacked = session.ack.unacked.filter((json) => !later(json));
  }

  /**
   * Forgets a session on this node and returns the channels it was subscribed
   * to (undefined when this node did not hold it). With a reason the session
   * ended: it is marked dead and its held connection dropped; without one it
   * moved to another node.
   */
  release(session: Session<User>, reason: DisconnectReason | undefined): string[] | undefined {
    if (this.owned.get(session.id) !== session) return undefined;
    this.owned.delete(session.id);
    const channels = [...session.channels];
    for (const channel of channels) {
      this.index.remove(channel, session);
      this.left(channel);
    }
    session.channels.clear();
    if (reason === undefined) return channels;
    session.alive = false;
    session.queue = [];
    this.host.sessionDropped(session, reason);
    return channels;
  }

  /** A session left `pattern`: tells the listener when it was the last one. */
  private left(pattern: string): void {
    if (this.onPattern !== undefined && this.index.subscribers(pattern) === undefined) this.onPattern(pattern, false);
  }

  counts(): LocalCounts {
    return { sessions: this.owned.size, subscriptions: this.index.count(), channels: this.index.size };
  }
}
