/**
 * What every part of the Redis engine shares on one node: its id, the two
 * Redis connections, the key names, its interest (the pub/sub channels it
 * wants), its own channel, the sessions it delivers to, and the tasks still
 * running (so `close()` and `sync()` can wait for them).
 */
import { randomBytes } from 'node:crypto';
import { EngineUnavailableError } from '../engine.js';
import type { LocalSessions } from '../local-sessions.js';
import { backoff, checkTopology, createClients, type RedisClient } from './connection.js';
import { type BroadcastFrame, encode, type Frame } from './frames.js';
import type { RedisHealth } from './health.js';
import type { RedisHistory } from './history.js';
import { Interest } from './interest.js';
import { BROADCAST } from './scripts.js';
import type { RedisEngineOptions } from './types.js';

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
  /** Broadcasts published by this node, for their unique ids. */
  private published = 0;
  /** Key prefix: on a Redis Cluster `{ns}`, a hash tag that puts every key and channel of the namespace in one slot. */
  private readonly prefix: string;
  private cmd: RedisClient | undefined;
  private sub: RedisClient | undefined;
  /** Echo markers this node waits for, by token. */
  private readonly echoes = new Map<string, () => void>();
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
    this.prefix = this.sharded ? `{${ns}}` : ns;
    this.interest = new Interest(
      (pattern) => this.key('c', pattern),
      this.sharded,
      (err) => this.state.failed(err),
    );
  }

  /** Every key and channel name goes through here, so the cluster hash tag applies to all of them. */
  key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
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
    // Subscribed on every connection (ioredis's resubscription is off, except in a Cluster's
    // shard subscribers): the node serves again only once its own channel and every pattern
    // it wants are confirmed, also on a connection ioredis had given up.
    sub.on('ready', () => {
      const own = this.key('to', this.nodeId);
      const subscribed = this.sharded ? sub.ssubscribe(own) : sub.subscribe(own);
      this.track(Promise.all([subscribed, this.interest.resubscribe(sub)]).then(() => health.connected('subscriber')));
    });
    sub.on('close', () => this.interest.lost());
    sub.on(this.sharded ? 'smessage' : 'message', received);
    cmd.connect().catch(() => undefined);
    sub.connect().catch(() => undefined);
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
   * Publishes a broadcast to the channel of every pattern that can match it,
   * in one script: Redis sends it only to the nodes subscribed to one of them,
   * and a node subscribed to several receives the copies one after the other.
   */
  broadcast(frame: BroadcastFrame): Promise<unknown> {
    const redis = this.redis() as RedisClient & ScriptCommands;
    return redis.bayeuxBroadcast(this.key('fanout'), encode(frame), this.patternPrefix, frame.channel);
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
  async echo(timeout: number): Promise<void> {
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
      await this.sendTo(this.nodeId, { kind: 'echo', node: this.nodeId, token });
      await seen;
    } finally {
      clearTimeout(timer);
    }
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
}
