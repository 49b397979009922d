/**
 * Which node delivers to a session, and how a session moves. The owner is
 * the node that created it, then whichever node last took its `/meta/connect`
 * (`claim`). A move is a `session-moved` frame on the ordered stream: the old
 * owner delivers everything before it and hands its queue over on
 * `<ns>:to:<node>`, the new one everything after, so nothing is lost or
 * doubled. A node that died hands nothing over: history re-sends what its client had
 * not confirmed (positions.ts), or by time where no position was kept.
 */
import { isWildcard } from '../../protocol/channel.js';
import { AckState } from '../ack.js';
import { EngineUnavailableError } from '../engine.js';
import { keepsHistory } from '../history/config.js';
import type { DeliveredState } from '../history/delivered.js';
import { sweepEvery } from '../local-sessions.js';
import { type DisconnectReason, Session } from '../session.js';
import { delay, type RedisNode } from './node.js';
import { loadPositions } from './positions.js';
import { CLAIM } from './scripts.js';
import type { SessionEndedFrame, SessionMovedFrame, SubscriptionsFrame } from './stream.js';

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
}

function noHandover(id: string, lost = false): Handover {
  return lost ? { id, queue: [], unacked: [], batch: 0, lost } : { id, queue: [], unacked: [], batch: 0 };
}

/** A session this node is taking over, until its own `session-moved` frame comes back on the stream. */
interface Claiming<User> {
  session: Session<User>;
  /** Its subscriptions, kept up to date with the frames that pass before the move. */
  channels: Set<string>;
  activated(): void;
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

  constructor(
    private readonly node: RedisNode<User>,
    private readonly handoverTimeout: number,
  ) {}

  /** True while this node is taking the session over (the sweeper leaves it alone). */
  isClaiming(id: string): boolean {
    return this.claiming.has(id);
  }

  /** `Engine.claim`: makes this node the owner and returns the local object holding the queue. */
  async claim(session: Session<User>): Promise<Session<User>> {
    const { node } = this;
    const mine = node.local.get(session.id);
    if (mine !== undefined) return mine;
    const redis = node.redis();
    const host = node.local.host;
    const local = movingHere(session);
    // When it was last seen, in case its node died: history re-sends what came after.
    const seen = node.history === undefined ? null : await redis.zscore(node.key('sessions'), session.id);
    // Seen now: the sweeper must not expire a session while it moves (the old owner may be dead).
    await redis.zadd(node.key('sessions'), 'XX', Date.now(), session.id);
    const channels = await redis.smembers(node.key('subs', session.id));
    const previous = (await redis.eval(CLAIM, 1, node.key('session', session.id), node.nodeId)) as string | null;
    if (previous === null) {
      local.alive = false;
      return local;
    }
    const moved = previous !== node.nodeId;
    const oldAlive = moved && (await redis.exists(node.key('node', previous))) === 1;
    const handed = oldAlive ? this.awaitHandover(session.id) : Promise.resolve(noHandover(session.id, moved));
    if (moved && !oldAlive) host.observer?.handover('owner-gone');
    const history = node.history;
    const resume =
      history !== undefined && seen !== null && moved ? channels.filter((c) => !isWildcard(c) && keepsHistory(host.history, c)) : [];
    // Held from before the move, so live messages come after the handed-over or re-sent ones.
    if (resume.length > 0) history?.hold(session.id, resume);
    const activated = new Promise<void>((resolve) => {
      this.claiming.set(session.id, { session: local, channels: new Set(channels), activated: resolve });
    });
    // Counted as connected while the old owner hands over, so the sweeper leaves it alone.
    local.connections++;
    try {
      await node.publish({ kind: 'session-moved', id: session.id, owner: node.nodeId });
      // Our own marker comes back on the stream unless the subscriber is cut off: bounded by the command timeout.
      if (!(await Promise.race([activated.then(() => true), delay(node.timeout).then(() => false)]))) {
        throw new EngineUnavailableError('redisEngine: the stream did not echo a session move in time');
      }
    } catch (err) {
      for (const channel of resume) history?.abort(local, channel, false);
      throw err;
    } finally {
      this.claiming.delete(session.id);
    }
    const handover = await handed.finally(() => {
      local.connections--;
      local.lastSeen = Date.now();
    });
    await this.takeOver(local, handover, resume, Number(seen));
    return local;
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
      // The dead node refreshed "last seen" every tick; re-send from two ticks and a second of clock skew before it,
      // and for the ack extension from a whole maxInterval before: a batch stays unacknowledged up to a connect later.
      const { maxInterval } = host.limits;
      const margin = 2 * sweepEvery(maxInterval) + 1000 + (local.ack === undefined ? 0 : maxInterval);
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
      node.local.release(session, undefined);
      const handover: Handover = {
        id: frame.id,
        queue: session.take(),
        unacked: session.ack?.unacked ?? [],
        batch: session.ack?.batch ?? 0,
      };
      if (session.delivered !== undefined) handover.delivered = session.delivered.state();
      node.track(node.send(node.key('to', frame.owner), JSON.stringify(handover)));
      node.local.host.sessionMovedAway(session);
    }
    const claiming = this.claiming.get(frame.id);
    if (claiming !== undefined && frame.owner === node.nodeId) {
      this.claiming.delete(frame.id);
      node.local.add(claiming.session);
      node.local.change(claiming.session, [...claiming.channels], 'subscribe');
      claiming.activated();
    }
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

  /** Another node changed a session's subscriptions: the owner indexes them, a claim in progress notes them. */
  changed(frame: SubscriptionsFrame): void {
    const session = this.node.local.get(frame.id);
    if (session !== undefined) this.node.local.change(session, frame.channels, frame.kind);
    const claiming = this.claiming.get(frame.id);
    if (claiming === undefined) return;
    for (const channel of frame.channels) {
      if (frame.kind === 'subscribe') claiming.channels.add(channel);
      else claiming.channels.delete(channel);
    }
  }

  /** A replayed subscription was recorded for a session: a claim in progress notes it. */
  replaying(id: string, channel: string): void {
    this.claiming.get(id)?.channels.add(channel);
  }

  /** The old owner's answer on `<ns>:to:<node>`. */
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
