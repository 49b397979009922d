/**
 * Which node delivers to a session, and how a session moves. The owner is
 * the node that created it, then whichever node last took its `/meta/connect`
 * (`claim`). Everything about a session goes to its owner's own channel
 * `<ns>:to:<node>`; nothing about one session reaches every node.
 *
 * A move, and why it loses and doubles nothing. The new owner B
 * 1. makes itself the owner in the session's hash (CLAIM), then reads the
 *    session's subscriptions: a node that adds one writes it to the set
 *    before it reads the owner (subscriptions.ts), so B either sees it in
 *    the set or is told by a frame sent to B. That frame can arrive before
 *    B has read the set, so B registers the claim before CLAIM runs and a
 *    frame for a session being claimed is kept with it (test/redis/claim-race);
 * 2. subscribes to the pub/sub channel of each of them and waits for Redis
 *    to confirm: from then on every broadcast for the session reaches B;
 * 3. publishes one `session-moved` marker to A's channel and its own in one
 *    script (node.ts `fanout`), so no broadcast comes between the two copies.
 * On one Redis all pub/sub messages a connection receives come in the order
 * Redis executed the publishes, so A and B see each broadcast on the same
 * side of the marker: A delivers what came before and hands its queue over,
 * B what came after.
 *
 * On a Redis Cluster the session's patterns live on different shards, and no
 * order holds between them, so step 3 is a cut per pattern instead: each
 * pattern's messages are numbered in its slot (scripts.ts) and reach every
 * node in that order. After step 2, B reads each pattern's current number
 * n0: everything numbered above n0 was published after B's subscription was
 * confirmed, so it reaches B. B sends n0 to A in the marker, and keeps what
 * it receives for the session. A, on the marker, has delivered up to the
 * last number it received, `last`; it cuts at max(last, n0): where last is
 * below n0 it goes on delivering until it received n0 (published before B
 * read it, so on its way to A, subscribed throughout; bounded by half the
 * handover timeout), and nothing above. It hands its queue over with the
 * cut. B delivers what it kept and what comes numbered above the cut. Every
 * message of a pattern is on exactly one side of the cut, A's side before
 * B's: none is lost or doubled. A session holding two patterns that match one
 * channel gets a broadcast's two copies numbered apart, one per pattern, and
 * each node could take a different one: A hands over the ids of what it gave
 * the session lately (overlaps.ts), so B skips the twin of anything A gave.
 *
 * A node that died hands nothing over: history re-sends what its client had
 * not confirmed (positions.ts), or by time where no position was kept.
 */

import { randomBytes } from 'node:crypto';
import { isWildcard } from '../../protocol/channel.js';
import { AckState } from '../ack.js';
import { EngineUnavailableError } from '../engine.js';
import { keepsHistory } from '../history/config.js';
import type { DeliveredState } from '../history/delivered.js';
import { type SubscriptionChange, sweepEvery } from '../local-sessions.js';
import { type DisconnectReason, Session } from '../session.js';
import {
  type BroadcastFrame,
  encode,
  type SessionEndedFrame,
  type SessionMessageFrame,
  type SessionMovedFrame,
  type SubscriptionsFrame,
} from './frames.js';
import { delay, type RedisNode } from './node.js';
import type { OverlapHandover } from './overlaps.js';
import { loadPositions } from './positions.js';
import { CLAIM } from './scripts.js';
import { STORED_LAG } from './sessions.js';

/** What the old owner of a moving session sends the new one. */
interface Handover {
  id: string;
  queue: string[];
  unacked: string[];
  batch: number;
  /** Where the session stands on its history channels (so nothing is queued twice after the move). */
  delivered?: DeliveredState;
  /** Set when no old owner answered (it died): its queue is lost, history re-sends what it can. */
  lost?: boolean;
  /** On a Redis Cluster: per pattern, the last number the old owner delivered (see the top). */
  cut?: [string, number][];
  /** On a Redis Cluster, for a session holding patterns that match one channel: what it was given lately (overlaps.ts). */
  overlap?: OverlapHandover;
}

function noHandover(id: string, lost = false): Handover {
  return lost ? { id, queue: [], unacked: [], batch: 0, lost } : { id, queue: [], unacked: [], batch: 0 };
}

/** A session this node is taking over, until its own `session-moved` marker comes back. */
interface Claiming<User> {
  session: Session<User>;
  /** Its subscriptions, kept up to date with the frames sent here during the move; this node's interest holds each. */
  channels: Set<string>;
  activated(): void;
  /** Resolves when the claim is over, taken or failed: from then on this node delivers to the session (or nobody does). */
  settled: Promise<void>;
  /** On a Redis Cluster: the copies received for the session's patterns until the cut is known. */
  copies: { pattern: string; seq: number; frame: BroadcastFrame }[];
}

/** On a Redis Cluster, a session moving: the last number the old owner delivers per pattern (see the top). */
interface Cut {
  /** True on the old owner (it delivers up to the cut), false on the new one (after it). */
  leaving: boolean;
  at: Map<string, number>;
}

/** The local object of a session moving to this node: same identity, its own (empty) queue. */
function movingHere<User>(session: Session<User>): Session<User> {
  return new Session(
    {
      id: session.id,
      user: session.user,
      userKey: session.userKey,
      ip: session.ip,
      transport: session.transport,
      data: session.data,
      ack: session.ack !== undefined,
      browser: session.browser,
    },
    Date.now(),
  );
}

export class Ownership<User> {
  private readonly claiming = new Map<string, Claiming<User>>();
  private readonly handovers = new Map<string, (handover: Handover) => void>();
  /** On a Redis Cluster: the cuts of sessions moving to or from this node. */
  private readonly cuts = new Map<string, Cut>();
  /** Delivers a copy of a broadcast to a session (index.ts `deliverCopy`). */
  routeCopy: (session: Session<User>, pattern: string, seq: number, frame: BroadcastFrame) => void = () => undefined;

  constructor(
    private readonly node: RedisNode<User>,
    private readonly handoverTimeout: number,
  ) {}

  /** True while some claim is in progress on this node. */
  get claimingAny(): boolean {
    return this.claiming.size > 0;
  }

  /** True while a session moves to or from this node on a Redis Cluster. */
  get cutting(): boolean {
    return this.cuts.size > 0;
  }

  /** Whether the copy numbered `seq` of `pattern` is this node's to deliver to session `id` (see the top). */
  admits(id: string, pattern: string, seq: number): boolean {
    const cut = this.cuts.get(id);
    const at = cut?.at.get(pattern);
    if (cut === undefined || at === undefined) return true;
    if (cut.leaving) return seq <= at;
    if (seq <= at) return false;
    // Numbers come in order: nothing at or below the cut follows.
    cut.at.delete(pattern);
    if (cut.at.size === 0) this.cuts.delete(id);
    return true;
  }

  /** A copy of a broadcast came while sessions are being claimed: those holding its pattern keep it until their cut is known. */
  offer(pattern: string, seq: number, frame: BroadcastFrame): void {
    for (const claiming of this.claiming.values()) if (claiming.channels.has(pattern)) claiming.copies.push({ pattern, seq, frame });
  }

  /** True while this node is taking the session over (the sweeper leaves it alone). */
  isClaiming(id: string): boolean {
    return this.claiming.has(id);
  }

  /** `Engine.claim`: makes this node the owner and returns the local object holding the queue. */
  async claim(session: Session<User>): Promise<Session<User>> {
    const { node } = this;
    const mine = node.local.get(session.id);
    if (mine !== undefined) return mine;
    const host = node.local.host;
    const local = movingHere(session);
    let activate: () => void = () => undefined;
    const activated = new Promise<void>((resolve) => {
      activate = resolve;
    });
    // Registered before the claim runs: a node that adds a subscription after reading this node as the owner tells
    // this node with a frame, which may arrive before the set is read below; `apply` keeps it in `claiming.channels`.
    let settle: () => void = () => undefined;
    const settled = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const claiming: Claiming<User> = { session: local, channels: new Set(), activated: activate, settled, copies: [] };
    this.claiming.set(session.id, claiming);
    let resume: string[] = [];
    let handed: Promise<Handover> = Promise.resolve(noHandover(session.id));
    let oldAlive = false;
    let seen: string | null = null;
    const history = node.history;
    try {
      const record = await this.claimRecord(session.id);
      seen = record.seen;
      if (record.claimed === null) {
        local.alive = false;
        return local;
      }
      const [previous, alive, subscribed] = record.claimed;
      // Read after the claim: see the comment at the top.
      for (const channel of subscribed) {
        if (claiming.channels.has(channel)) continue;
        claiming.channels.add(channel);
        node.interest.add(channel);
      }
      const channels = [...claiming.channels];
      const moved = previous !== node.nodeId;
      oldAlive = alive === 1;
      handed = oldAlive ? this.awaitHandover(session.id) : Promise.resolve(noHandover(session.id, moved));
      if (moved && !oldAlive) host.observer?.handover('owner-gone');
      resume =
        history !== undefined && seen !== null && moved ? channels.filter((c) => !isWildcard(c) && keepsHistory(host.history, c)) : [];
      // Held from before the move, so live messages come after the handed-over or re-sent ones.
      if (resume.length > 0) history?.hold(session.id, resume);
      // Counted as connected while the old owner hands over, so the sweeper leaves it alone.
      local.connections++;
      await node.interest.ready(claiming.channels, node.timeout);
      if (node.sharded) await this.cutOver(claiming, oldAlive ? previous : undefined, handed);
      else await this.marker(claiming, activated, oldAlive ? previous : undefined);
    } catch (err) {
      for (const channel of resume) history?.abort(local, channel, false);
      throw err;
    } finally {
      this.claiming.delete(session.id);
      // Indexed now (or the claim failed): the session's own subscriptions hold the interest.
      for (const channel of claiming.channels) node.interest.remove(channel);
      settle();
    }
    const handover = await handed.finally(() => {
      local.connections--;
      local.lastSeen = Date.now();
    });
    await this.takeOver(local, handover, resume, Number(seen));
    return local;
  }

  /**
   * Reads when the session was last seen (with history: what to re-send from,
   * should its node have died), marks it seen now so that the sweeper leaves a
   * moving session alone even when its old owner is dead, then claims it
   * (scripts.ts `CLAIM`). One pipeline on one Redis, where the commands run in
   * that order; on a cluster last seen lives in another slot, so two round trips.
   */
  private async claimRecord(id: string): Promise<{ seen: string | null; claimed: [string, number, string[]] | null }> {
    const { node } = this;
    const redis = node.redis();
    const seenKey = node.seenKey(id);
    const withHistory = node.history !== undefined;
    const touch = redis.pipeline();
    if (withHistory) touch.zscore(seenKey, id);
    touch.zadd(seenKey, 'XX', Date.now(), id);
    const claim = [CLAIM, 2, node.key('session', id), node.key('subs', id), node.nodeId, node.key('node', '')] as const;
    const results = node.sharded
      ? [...((await touch.exec()) ?? []), [null, await redis.eval(...claim)]]
      : await touch.eval(...claim).exec();
    for (const [err] of results ?? []) if (err) throw err;
    const value = (i: number): unknown => results?.[i]?.[1];
    const seen = withHistory ? value(0) : null;
    const claimed = value(withHistory ? 2 : 1);
    return {
      seen: typeof seen === 'string' ? seen : null,
      claimed: Array.isArray(claimed) ? (claimed as [string, number, string[]]) : null,
    };
  }

  /**
   * On one Redis: one `session-moved` marker to the old owner and to this
   * node in one script; this node starts delivering when its copy comes back.
   */
  private async marker(claiming: Claiming<User>, activated: Promise<void>, previous: string | undefined): Promise<void> {
    const { node } = this;
    const marker = encode({ kind: 'session-moved', id: claiming.session.id, owner: node.nodeId });
    const to = [node.key('to', node.nodeId)];
    if (previous !== undefined) to.push(node.key('to', previous));
    await node.fanout(marker, to);
    // Our own marker comes back unless the subscriber is cut off: bounded by the command timeout.
    if (!(await Promise.race([activated.then(() => true), delay(node.timeout).then(() => false)]))) {
      throw new EngineUnavailableError('redisEngine: a session move was not echoed in time');
    }
  }

  /**
   * On a Redis Cluster: reads where its subscriptions start, tells the old
   * owner, and starts delivering after the cut the handover brings (see the
   * top). Without a live old owner there is no cut: this node delivers every
   * copy it received.
   */
  private async cutOver(claiming: Claiming<User>, previous: string | undefined, handed: Promise<Handover>): Promise<void> {
    const { node } = this;
    const { session } = claiming;
    let at = new Map<string, number>();
    let overlap: OverlapHandover | undefined;
    if (previous !== undefined) {
      const patterns = [...claiming.channels];
      const numbers = await Promise.all(patterns.map((pattern) => node.redis().get(node.channelKey(pattern, 'n'))));
      const start: [string, number][] = patterns.map((pattern, i) => [pattern, Number(numbers[i] ?? 0)]);
      await node.sendTo(previous, { kind: 'session-moved', id: session.id, owner: node.nodeId, cut: JSON.stringify(start) });
      // An old owner that does not answer died: what it had not delivered is lost, as with a dead node.
      const handover = await handed;
      at = new Map(handover.cut ?? start);
      overlap = handover.overlap;
    }
    if (!this.claiming.has(session.id)) return; // ended meanwhile
    this.claiming.delete(session.id);
    if (at.size > 0) this.cuts.set(session.id, { leaving: false, at });
    node.local.add(session);
    node.local.change(session, [...claiming.channels], 'subscribe');
    node.overlaps?.arrived(session, overlap);
    for (const copy of claiming.copies) this.routeCopy(session, copy.pattern, copy.seq, copy.frame);
    claiming.activated();
    // The cut matters only until this node received it on each pattern: nothing at or below it comes later.
    // Not a task `sync()` or `close()` waits for: on a quiet channel the number may never come, and only the
    // bound (the handover timeout) ends the wait, while nothing waits on it.
    if (at.size > 0) void this.joined(session.id, at);
  }

  private async joined(id: string, at: Map<string, number>): Promise<void> {
    await Promise.all([...at].map(([pattern, seq]) => this.node.sequences.reached(pattern, seq, this.handoverTimeout)));
    if (this.cuts.get(id)?.at === at) this.cuts.delete(id);
  }

  /** Goes on where the old owner left off: its queue and ack state, or, when it died, what history kept since `seen`. */
  private async takeOver(local: Session<User>, handover: Handover, resume: readonly string[], seen: number): Promise<void> {
    const { queue, unacked, batch, lost, delivered } = handover;
    const host = this.node.local.host;
    if (delivered !== undefined) local.positions().restore(delivered);
    // Acknowledgement state goes on where the old node left it, so the client's next ack still matches.
    if (local.ack !== undefined) local.ack = new AckState(batch, unacked);
    if (queue.length > 0) {
      local.queue = [...queue, ...local.queue];
      host.messagesQueued(local);
    }
    const history = this.node.history;
    if (resume.length > 0 && history !== undefined) {
      // The dead node refreshed "last seen" every tick or so; re-send from two ticks and a second of clock skew before it,
      // and for the ack extension from a whole maxInterval before: a batch stays unacknowledged up to a connect later.
      const { maxInterval } = host.limits;
      // A connected session's stored last seen lags up to STORED_LAG of maxInterval behind (index.ts housekeeping).
      const margin = 2 * sweepEvery(maxInterval) + 1000 + maxInterval * STORED_LAG + (local.ack === undefined ? 0 : maxInterval);
      if (lost === true) {
        // What the client confirmed before its node died: it resumes exactly after that, once.
        const confirmed = await loadPositions(this.node.redis(), this.node.key('session', local.id));
        local.positions().record(confirmed);
        await history.resume(local, resume, confirmed, seen - margin);
      } else for (const channel of resume) history.abort(local, channel, true);
    }
  }

  /** A session moved: the old owner hands its queue over, the new one starts delivering. */
  moved(frame: SessionMovedFrame): void {
    const { node } = this;
    const session = node.local.get(frame.id);
    if (session !== undefined && frame.owner !== node.nodeId) {
      if (frame.cut === undefined) this.handOver(session, frame.owner);
      else node.track(this.leave(session, frame.owner, frame.cut));
    }
    const claiming = this.claiming.get(frame.id);
    if (claiming !== undefined && frame.owner === node.nodeId) {
      this.claiming.delete(frame.id);
      node.local.add(claiming.session);
      node.local.change(claiming.session, [...claiming.channels], 'subscribe');
      claiming.activated();
    }
  }

  /** On a Redis Cluster: cuts each pattern at max(last received, where the new owner starts), delivers up to it, hands over (see the top). */
  private async leave(session: Session<User>, owner: string, starts: string): Promise<void> {
    const { node } = this;
    const at = new Map<string, number>();
    const waits: Promise<boolean>[] = [];
    for (const [pattern, start] of JSON.parse(starts) as [string, number][]) {
      const last = node.sequences.lastOf(pattern);
      if (last !== undefined && last >= start) at.set(pattern, last);
      else {
        at.set(pattern, start);
        if (session.channels.has(pattern) && node.interest.receives(pattern)) waits.push(this.receivedUpTo(pattern, start, last));
      }
    }
    const cut: Cut = { leaving: true, at };
    this.cuts.set(session.id, cut);
    try {
      if ((await Promise.all(waits)).includes(false)) {
        node.local.host.logger.warn(
          { engine: 'redis', clientId: session.id },
          'express-bayeux: messages published before a session moved did not all reach its old node in time; some may be missing',
        );
      }
    } finally {
      if (this.cuts.get(session.id) === cut) this.cuts.delete(session.id);
    }
    if (node.local.get(session.id) === session) this.handOver(session, owner, [...at]);
  }

  /**
   * Resolves true once this node received every message numbered up to
   * `start` on `pattern` that can reach it (false after half the handover
   * timeout). Once a message came on the channel, every later one was
   * published after this node subscribed and is on its way: it waits for the
   * number. Before any came, the channel may have been quiet since this node
   * subscribed, and `start` may number a message published before that, which
   * never comes: an echo on the pattern's channel answers instead, in one round
   * trip. The messages up to `start` were published before the new owner read
   * it, so before the echo, and each that can reach this node comes before it.
   */
  private receivedUpTo(pattern: string, start: number, last: number | undefined): Promise<boolean> {
    const { node } = this;
    const timeout = this.handoverTimeout / 2;
    if (last !== undefined) return node.sequences.reached(pattern, start, timeout);
    return node.echo(timeout, node.channelKey(pattern, 'c')).then(
      () => true,
      () => false,
    );
  }

  /** The old owner's part of a move: releases the session and sends its queue and state to the new owner. */
  private handOver(session: Session<User>, owner: string, cut?: [string, number][]): void {
    const { node } = this;
    node.local.release(session, undefined);
    const handover: Handover = {
      id: session.id,
      queue: session.take(),
      unacked: session.ack?.unacked ?? [],
      batch: session.ack?.batch ?? 0,
    };
    if (session.delivered !== undefined) handover.delivered = session.delivered.state();
    if (cut !== undefined) handover.cut = cut;
    const overlap = node.overlaps?.handover(session);
    if (overlap !== undefined) handover.overlap = overlap;
    node.track(node.sendTo(owner, { kind: 'handover', json: JSON.stringify(handover) }));
    node.local.host.sessionMovedAway(session);
  }

  /**
   * Applies a subscription change made on another node (or on this one, for a
   * session it is taking over): the owner indexes it, a claim in progress notes
   * it. Resolves once this node's interest in new channels is confirmed.
   */
  async apply(id: string, channels: readonly string[], change: SubscriptionChange): Promise<void> {
    const { node } = this;
    const session = node.local.get(id);
    if (session !== undefined) {
      // On a cluster, a pattern unsubscribed may go on delivering for a while, one subscribed may wait (overlaps.ts).
      if (change === 'unsubscribe') node.overlaps?.leaving(session, channels);
      const changed = node.local.change(session, channels, change);
      if (change === 'subscribe') node.overlaps?.joined(session, changed);
    }
    const claiming = this.claiming.get(id);
    if (claiming !== undefined) {
      for (const channel of channels) {
        if (change === 'subscribe') {
          if (claiming.channels.has(channel)) continue;
          claiming.channels.add(channel);
          node.interest.add(channel);
        } else if (claiming.channels.delete(channel)) {
          node.interest.remove(channel);
        }
      }
    }
    if (change === 'subscribe') await node.interest.ready(channels, node.timeout);
    // The old owner never subscribed to a channel added during the move, so until this node delivers to the session
    // nobody would: the acknowledgement (and with it the client's subscribe reply) waits for the claim to end.
    if (claiming !== undefined && change === 'subscribe') await claiming.settled;
  }

  /** Another node changed a session's subscriptions: apply, then acknowledge, so its reply follows our interest. */
  async changed(frame: SubscriptionsFrame): Promise<void> {
    try {
      await this.apply(frame.id, frame.channels, frame.kind);
    } finally {
      await this.node.sendTo(frame.reply, { kind: 'ack', token: frame.token });
    }
  }

  /**
   * Tells `owner` of a subscription change this node made in Redis and waits
   * (up to `handoverTimeout`) until it applied it. An owner that does not
   * answer has died: the node that takes the session over reads the set.
   */
  async tell(owner: string, id: string, channels: readonly string[], change: SubscriptionChange): Promise<void> {
    const { node } = this;
    if (owner === node.nodeId) return this.apply(id, channels, change);
    const token = randomBytes(8).toString('base64url');
    const acked = node.awaitAcks(token, this.handoverTimeout);
    acked.expect(1);
    await node.sendTo(owner, { kind: change, id, reply: node.nodeId, token, channels: [...channels] });
    if (!(await acked.settled)) {
      node.local.host.logger.warn(
        { engine: 'redis', clientId: id, owner },
        'express-bayeux: the owner did not acknowledge a subscription change',
      );
    }
  }

  /**
   * A message for one session reached this node: its owner delivers it, a
   * claim in progress queues it; a node that just handed the session over
   * sends it on to the new owner, once.
   */
  async message(frame: SessionMessageFrame): Promise<void> {
    const { node } = this;
    const session = node.local.get(frame.id) ?? this.claiming.get(frame.id)?.session;
    if (session !== undefined) {
      node.local.deliver(session, frame.json);
      return;
    }
    if (frame.forwarded) return;
    const owner = await node.redis().hget(node.key('session', frame.id), 'owner');
    if (owner !== null && owner !== node.nodeId) await node.sendTo(owner, { ...frame, forwarded: true });
  }

  /** A session ended on another node: its owner releases it, a claim in progress stops. */
  ended(frame: SessionEndedFrame): void {
    const session = this.node.local.get(frame.id);
    if (session !== undefined) this.node.local.release(session, frame.reason as DisconnectReason);
    const claiming = this.claiming.get(frame.id);
    if (claiming !== undefined) {
      this.claiming.delete(frame.id);
      claiming.session.alive = false;
      claiming.activated();
    }
  }

  /** A replayed subscription was recorded for a session: a claim in progress notes it. */
  replaying(id: string, channel: string): void {
    const claiming = this.claiming.get(id);
    if (claiming === undefined || claiming.channels.has(channel)) return;
    claiming.channels.add(channel);
    this.node.interest.add(channel);
  }

  /** The old owner's answer to a move. */
  handedOver(payload: string): void {
    const handover = JSON.parse(payload) as Handover;
    this.handovers.get(handover.id)?.(handover);
  }

  /** After Redis came back: sessions it lost end, sessions another node took are released. */
  async revalidate(): Promise<void> {
    const { node } = this;
    const ids = [...node.local.ids()];
    if (ids.length === 0) return;
    const pipeline = node.redis().pipeline();
    for (const id of ids) pipeline.hget(node.key('session', id), 'owner');
    const results = (await pipeline.exec()) ?? [];
    const host = node.local.host;
    ids.forEach((id, i) => {
      const session = node.local.get(id);
      if (session === undefined) return;
      const owner = results[i]?.[1];
      if (owner === null || owner === undefined) {
        node.local.release(session, 'server');
        host.sessionEnded(session, 'server');
      } else if (owner !== node.nodeId) {
        node.local.release(session, undefined);
        host.sessionMovedAway(session);
      }
    });
  }

  private awaitHandover(id: string): Promise<Handover> {
    const { local } = this.node;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.handovers.delete(id);
        local.host.observer?.handover('timeout');
        resolve(noHandover(id, true));
      }, this.handoverTimeout);
      this.handovers.set(id, (handover) => {
        clearTimeout(timer);
        local.host.observer?.handover('received');
        this.handovers.delete(id);
        resolve(handover);
      });
    });
  }
}
