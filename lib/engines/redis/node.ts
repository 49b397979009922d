/**
 * What every part of the Redis engine shares on one node: its id, the two
 * Redis connections, the key names, its interest (the pub/sub channels it
 * wants), its own channel, the sessions it delivers to, and the tasks still
 * running (so `close()` and `sync()` can wait for them).
 */
import { randomBytes } from 'node:crypto';
import { EngineUnavailableError } from '../engine.js';
import type { LocalSessions } from '../local-sessions.js';
import type { Session } from '../session.js';
import { backoff, checkTopology, createClients, type RedisClient } from './connection.js';
import { type BroadcastFrame, encode, type Frame } from './frames.js';
import type { RedisHealth } from './health.js';
import type { RedisHistory } from './history.js';
import { Interest } from './interest.js';
import { seenBucket, seenBucketKeys } from './last-seen.js';
import { Overlaps } from './overlaps.js';
import { BROADCAST, SEQUENCE_TTL, SEQUENCED } from './scripts.js';
import { Sequences } from './sequences.js';
import type { RedisEngineOptions } from './types.js';
import { Wildcards } from './wildcards.js';

export class RedisNode<User> {
  readonly nodeId = randomBytes(9).toString('base64url');
  /** On a Redis Cluster, sharded pub/sub: a message travels to one shard, not over the whole cluster bus. */
  readonly sharded: boolean;
  /** Milliseconds a Redis command may take before the engine counts Redis as unavailable. */
  readonly timeout: number;
  /** Channel history (Streams), when the server keeps some. */
  history: RedisHistory<User> | undefined;
  /** Background tasks still running. */
  readonly inflight = new Set<Promise<unknown>>();
  /** The patterns this node subscribes to in Redis. */
  readonly interest: Interest;
  /** On a Redis Cluster: the last number seen on each pattern's channel (scripts.ts `SEQUENCED_FUNCTION`). */
  readonly sequences = new Sequences();
  /** On a Redis Cluster: the wildcard patterns some node wants, so a publish is sent to them (wildcards.ts). */
  readonly wildcards: Wildcards | undefined;
  /** On a Redis Cluster: sessions holding two patterns that match one channel, which take the first copy (overlaps.ts). */
  readonly overlaps: Overlaps<Session<User>> | undefined;
  /** Broadcasts published by this node, for their unique ids. */
  private published = 0;
  /** Key prefix: on a Redis Cluster `{ns}`, a hash tag that puts the namespace's own keys and channels in one slot. */
  private readonly prefix: string;
  private readonly ns: string;
  /** The sorted sets of last seen (last-seen.ts): one on one Redis, one per bucket on a cluster. */
  private readonly seen: readonly string[];
  private cmd: RedisClient | undefined;
  private sub: RedisClient | undefined;
  /** Echo markers this node waits for, by token. */
  private readonly echoes = new Map<string, () => void>();
  /** Acknowledgements this node waits for, by token: how many are still missing, and who waits. */
  private readonly awaited = new Map<string, { received: number; expected: number; done: () => void }>();
  /** Set by `disconnect()`: a connection that ends then stays ended. */
  private closing = false;
  /** Connections given up by ioredis, waiting to be started again. */
  private readonly restarts = new Set<NodeJS.Timeout>();

  constructor(
    private readonly options: RedisEngineOptions,
    readonly state: RedisHealth,
    readonly local: LocalSessions<User>,
  ) {
    const ns = options.namespace ?? 'bayeux';
    if (!/^[\w.:-]+$/.test(ns)) throw new TypeError('redisEngine: option "namespace" must be letters, digits, _ . : -');
    this.timeout = options.commandTimeout ?? 2000;
    if (!(this.timeout > 0)) throw new TypeError('redisEngine: option "commandTimeout" must be a positive number of milliseconds');
    checkTopology(options);
    this.sharded = options.cluster !== undefined;
    this.ns = ns;
    this.prefix = this.sharded ? `{${ns}}` : ns;
    this.seen = this.sharded ? seenBucketKeys(ns) : [this.key('sessions')];
    this.wildcards = this.sharded ? new Wildcards(this) : undefined;
    this.interest = new Interest(
      (pattern) => this.channelKey(pattern, 'c'),
      this.wildcards === undefined ? undefined : { wildcards: this.wildcards, sequences: this.sequences },
      (err) => this.state.failed(err),
    );
    this.overlaps = this.sharded ? new Overlaps<Session<User>>(this.timeout * 2, this.interest) : undefined;
  }

  /** The namespace's own keys and channels go through here (on a Redis Cluster, all in the namespace's slot). */
  key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }

  /**
   * The key or channel `what` of one channel or subscription pattern: its
   * pub/sub channel `c`, sequence `n`, history Stream and metadata. On a Redis
   * Cluster each pattern has its own hash tag, so channels spread over the
   * cluster's slots (channel names hold no braces, so the tag is the whole
   * `ns:pattern`); on one Redis the names are the namespace's, as before.
   */
  channelKey(pattern: string, what: 'c' | 'n' | 'history' | 'history-meta'): string {
    return this.sharded ? `{${this.ns}:${pattern}}:${what}` : `${this.prefix}:${what}:${pattern}`;
  }

  /** The sorted set holding `clientId`'s last seen (last-seen.ts): on a Redis Cluster one of several, spread over slots. */
  seenKey(clientId: string): string {
    return this.seen.length === 1 ? (this.seen[0] as string) : (this.seen[seenBucket(clientId)] as string);
  }

  /** Every sorted set `seenKey` returns. */
  seenKeys(): readonly string[] {
    return this.seen;
  }

  /** The pattern whose pub/sub channel (on a Redis Cluster) is `channel`; undefined for any other channel. */
  patternOf(channel: string): string | undefined {
    const start = this.ns.length + 2;
    if (!channel.endsWith('}:c') || channel[0] !== '{' || channel.slice(1, start - 1) !== this.ns || channel[start - 1] !== ':')
      return undefined;
    return channel.slice(start, -3);
  }

  /** The command connection; throws before `connect()`. */
  redis(): RedisClient {
    if (this.cmd === undefined) throw new Error('redisEngine: used before the server opened it');
    return this.cmd;
  }

  /**
   * Opens both connections: `received` gets every pub/sub message, `reconnected`
   * runs when the command connection comes back after a loss.
   */
  async connect(received: (channel: string, payload: string) => void, reconnected: () => void): Promise<void> {
    const health = this.state;
    const { cmd, sub } = await createClients(this.options, this.timeout);
    this.cmd = cmd;
    this.sub = sub;
    let connectedOnce = false;
    for (const [name, client] of [
      ['commands', cmd],
      ['subscriber', sub],
    ] as const) {
      health.track(name);
      // ioredis reconnects on its own and reports every attempt: the health logs state changes only.
      client.on('error', (err: Error) => health.noted(name, err.message));
      client.on('close', () => health.lost(name));
      this.keepConnecting(name, client);
    }
    cmd.on('ready', () => {
      if (connectedOnce) reconnected();
      connectedOnce = true;
      health.connected('commands');
    });
    const publish = this.sharded ? 'SPUBLISH' : 'PUBLISH';
    cmd.defineCommand('bayeuxFanout', { numberOfKeys: 1, lua: fanout(publish) });
    cmd.defineCommand('bayeuxBroadcast', { numberOfKeys: 1, lua: BROADCAST(publish) });
    cmd.defineCommand('bayeuxSequenced', { numberOfKeys: 1, lua: SEQUENCED });
    // Subscribed on every connection (ioredis's resubscription is off, except in a Cluster's
    // shard subscribers): the node serves again only once its own channel and every pattern
    // it wants are confirmed, also on a connection ioredis had given up.
    sub.on('ready', () => {
      const own = this.key('to', this.nodeId);
      const wildcards = this.wildcards;
      // On a cluster the node reads the wildcard registry after it listens to its announcements (wildcards.ts).
      const subscribed =
        wildcards === undefined
          ? sub.subscribe(own)
          : sub
              .ssubscribe(own, wildcards.channel)
              .then(() => this.commandsReady())
              .then(() => wildcards.load());
      this.track(Promise.all([subscribed, this.interest.resubscribe(sub)]).then(() => health.connected('subscriber')));
    });
    sub.on('close', () => {
      this.interest.lost();
      this.wildcards?.lost();
    });
    sub.on(this.sharded ? 'smessage' : 'message', received);
    cmd.connect().catch(() => undefined);
    sub.connect().catch(() => undefined);
  }

  /** Resolves once the command connection is ready (the subscriber may be ready first); rejects after the command timeout. */
  private commandsReady(): Promise<void> {
    const cmd = this.redis();
    if (cmd.status === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cmd.off('ready', ready);
        reject(new EngineUnavailableError(`redisEngine: the command connection was not ready within ${this.timeout} ms`));
      }, this.timeout);
      const ready = (): void => {
        clearTimeout(timer);
        resolve();
      };
      cmd.once('ready', ready);
    });
  }

  /**
   * Starts `client` again whenever ioredis stops reconnecting it while the node is open.
   * ioredis ends a Sentinel connection for good when a failover is announced while it is
   * asking the Sentinels for the primary (its connect fails with "Connection is closed.");
   * without this the node would answer 503 until restarted.
   */
  private keepConnecting(name: string, client: RedisClient): void {
    let attempts = 0;
    client.on('ready', () => {
      attempts = 0;
    });
    client.on('end', () => {
      if (this.closing) return;
      this.state.noted(name, 'ioredis stopped reconnecting; connecting again');
      const timer = setTimeout(() => {
        this.restarts.delete(timer);
        if (!this.closing) client.connect().catch(() => undefined);
      }, backoff(++attempts));
      this.restarts.add(timer);
    });
  }

  /** Waits (bounded) for running tasks, removes this node's heartbeat if Redis is up, and disconnects. */
  async disconnect(wasUp: boolean): Promise<void> {
    this.closing = true;
    for (const timer of this.restarts) clearTimeout(timer);
    this.restarts.clear();
    // Bounded: every command has a timeout, and nothing in flight waits on Redis longer than that.
    await Promise.race([Promise.allSettled([...this.inflight]), delay(this.timeout)]);
    if (wasUp) await Promise.allSettled([this.cmd?.del(this.key('node', this.nodeId))]);
    this.sub?.disconnect();
    this.cmd?.disconnect();
  }

  /** Publishes on one of the namespace's channels (sharded on a cluster). */
  send(channel: string, payload: string): Promise<unknown> {
    const redis = this.redis();
    return this.sharded ? redis.spublish(channel, payload) : redis.publish(channel, payload);
  }

  /** Sends a frame to one node's own channel. */
  sendTo(node: string, frame: Frame): Promise<unknown> {
    return this.send(this.key('to', node), encode(frame));
  }

  /** A unique id for a broadcast published by this node. */
  nextId(): string {
    return `${this.nodeId}.${(this.published++).toString(36)}`;
  }

  /** The prefix of the pub/sub channel of every subscription pattern (interest.ts). */
  get patternPrefix(): string {
    return this.key('c', '');
  }

  /**
   * Publishes a broadcast to the channel of every pattern that can match it.
   * On one Redis in one script: Redis sends it only to the nodes subscribed
   * to one of them, and a node subscribed to several receives the copies one
   * after the other. On a Redis Cluster: see `spread`.
   */
  async broadcast(frame: BroadcastFrame): Promise<unknown> {
    if (this.wildcards !== undefined) return this.spread(frame.channel, encode(frame), true);
    const redis = this.redis() as RedisClient & ScriptCommands;
    return redis.bayeuxBroadcast(this.key('fanout'), encode(frame), this.patternPrefix, frame.channel);
  }

  /**
   * On a Redis Cluster: publishes a broadcast of `channel`, numbered, on the
   * channel's own pub/sub channel (unless `own` is false: the history script
   * did) and on that of each wildcard pattern matching it that some node
   * wants, each in its own slot. The copies are sent together, so two
   * publishes from this node keep their order on every pattern's channel.
   */
  async spread(channel: string, payload: string, own: boolean): Promise<unknown> {
    const wildcards = this.wildcards as Wildcards;
    await wildcards.loaded(this.timeout);
    const sends: Promise<unknown>[] = own ? [this.sequenced(channel, payload)] : [];
    for (const pattern of wildcards.matching(channel)) sends.push(this.sequenced(pattern, payload));
    return Promise.all(sends);
  }

  private sequenced(pattern: string, payload: string): Promise<unknown> {
    const redis = this.redis() as RedisClient & ScriptCommands;
    return redis.bayeuxSequenced(this.channelKey(pattern, 'n'), this.channelKey(pattern, 'c'), payload, SEQUENCE_TTL);
  }

  /** Publishes `payload` to several of the namespace's channels in one atomic step: no other message comes between the copies. */
  fanout(payload: string, channels: readonly string[]): Promise<unknown> {
    const redis = this.redis() as RedisClient & ScriptCommands;
    return redis.bayeuxFanout(this.key('fanout'), payload, ...channels);
  }

  /** Runs a task in the background: `close()` and `sync()` wait for it, and its failure is logged. */
  track(promise: Promise<unknown>): void {
    const tracked = promise.catch((err: unknown) => {
      // An outage is logged once by the health, not by every task it fails.
      if (this.state.failed(err) instanceof EngineUnavailableError) return;
      this.local.host.logger.error({ err, engine: 'redis' }, 'express-bayeux: Redis engine task failed');
    });
    this.inflight.add(tracked);
    void tracked.finally(() => this.inflight.delete(tracked));
  }

  /** Sends a marker to this node's own channel and resolves when it comes back (everything sent before it came too). */
  async echo(timeout: number, channel = this.key('to', this.nodeId)): Promise<void> {
    const token = randomBytes(6).toString('hex');
    let timer: NodeJS.Timeout | undefined;
    const seen = new Promise<void>((resolve, reject) => {
      this.echoes.set(token, resolve);
      // A marker published while the subscriber reconnects is never seen: fail rather than hang.
      timer = setTimeout(() => {
        this.echoes.delete(token);
        reject(new Error(`redisEngine: its own channel did not echo within ${timeout} ms`));
      }, timeout);
    });
    try {
      await this.send(channel, encode({ kind: 'echo', node: this.nodeId, token }));
      await seen;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * On a Redis Cluster: an echo on this node's own channel and on each
   * pattern's channel it receives, each on its shard: resolves once every
   * broadcast published before reached this node.
   */
  async echoEverywhere(timeout: number): Promise<void> {
    await this.echo(timeout);
    const channels = this.interest.receiving().map((pattern) => this.channelKey(pattern, 'c'));
    await Promise.all(channels.map((channel) => this.echo(timeout, channel)));
  }

  /**
   * Starts waiting for acknowledgements carrying `token` (frames.ts `ack`):
   * `expect(count)` says how many (they may come before it is known);
   * `settled` resolves true once they all came, false after `timeout` ms.
   */
  awaitAcks(token: string, timeout: number): { expect(count: number): void; settled: Promise<boolean> } {
    let finish: (all: boolean) => void = () => undefined;
    const settled = new Promise<boolean>((resolve) => {
      finish = resolve;
    });
    const waiting = { received: 0, expected: Number.POSITIVE_INFINITY, done: () => finish(true) };
    const timer = setTimeout(() => finish(false), timeout);
    this.awaited.set(token, waiting);
    void settled.then(() => {
      clearTimeout(timer);
      this.awaited.delete(token);
    });
    return {
      expect: (count) => {
        waiting.expected = count;
        if (waiting.received >= count) waiting.done();
      },
      settled,
    };
  }

  /** An acknowledgement came. */
  acknowledged(token: string): void {
    const waiting = this.awaited.get(token);
    if (waiting !== undefined && ++waiting.received >= waiting.expected) waiting.done();
  }

  /** An echo marker came back. */
  echoed(node: string, token: string): void {
    if (node !== this.nodeId) return;
    this.echoes.get(token)?.();
    this.echoes.delete(token);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** KEYS: a key of the namespace (so a cluster runs it on the namespace's slot). ARGV: the payload, then the channels. */
const fanout = (publish: 'PUBLISH' | 'SPUBLISH'): string => `
for i = 2, #ARGV do redis.call('${publish}', ARGV[i], ARGV[1]) end
return 0
`;

/** The scripts `connect()` defines on the command connection (EVALSHA, loaded on first use). */
interface ScriptCommands {
  bayeuxFanout(key: string, payload: string, ...channels: string[]): Promise<number>;
  bayeuxBroadcast(key: string, payload: string, prefix: string, channel: string): Promise<number>;
  bayeuxSequenced(key: string, channel: string, payload: string, ttl: number): Promise<number>;
}
