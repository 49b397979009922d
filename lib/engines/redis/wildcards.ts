/**
 * On a Redis Cluster: which wildcard patterns (`/chat/*`, `/chat/**`) some
 * node wants. Sharded pub/sub has no pattern form and a script may only
 * publish in its own slot, so a publish on `/chat/a` is sent on `/chat/a`'s
 * channel and, separately, on the channel of each wildcard pattern matching
 * it that some node wants: every node keeps this registry to know which.
 * Wildcards nobody wants cost nothing; a wanted one costs one more command
 * per matching publish, on the pattern's own shard.
 *
 * The registry is a hash `<ns>:wildcards` (field `pattern\nnode`) in the
 * namespace's slot, and every change is announced on `<ns>:wildcards`, which
 * every node listens to. A node that starts wanting a pattern subscribes to
 * its channel first, then records and announces it, and waits until every
 * node listening acknowledged (SPUBLISH says how many received it): from
 * then on every node sends it what it publishes on a matching channel, so
 * the subscribe reply can go. Bounded: a node that does not answer within
 * the command timeout is logged and not waited for.
 */
import { randomBytes } from 'node:crypto';
import { expand } from '../../protocol/channel.js';
import type { Logger } from '../logger.js';
import type { RedisClient } from './connection.js';
import { encode, type Frame, type WildcardFrame } from './frames.js';

/** What the registry needs of its node (node.ts). */
interface WildcardNode {
  readonly nodeId: string;
  readonly timeout: number;
  readonly local: { readonly host: { readonly logger: Logger } };
  redis(): RedisClient;
  key(...parts: string[]): string;
  send(channel: string, payload: string): Promise<unknown>;
  sendTo(node: string, frame: Frame): Promise<unknown>;
  awaitAcks(token: string, timeout: number): { expect(count: number): void; settled: Promise<boolean> };
  track(promise: Promise<unknown>): void;
}

export class Wildcards {
  /** Pattern to the nodes that want it. */
  private readonly byPattern = new Map<string, Set<string>>();
  /** Set while the registry is read: announcements that came meanwhile are applied again on top of it. */
  private during: WildcardFrame[] | undefined;
  /** Resolves once the registry was read on the current subscriber connection. */
  private ready: Promise<void>;
  private markReady: () => void = () => undefined;

  constructor(private readonly node: WildcardNode) {
    this.ready = this.unread();
  }

  /** The hash and the announcements' channel (one name each: keys and channels are apart in Redis). */
  get channel(): string {
    return this.node.key('wildcards');
  }

  /** Reads the registry (the node already listens to announcements). */
  async load(): Promise<void> {
    this.during = [];
    const fields = await this.node.redis().hkeys(this.channel);
    const during = this.during;
    this.during = undefined;
    this.byPattern.clear();
    for (const field of fields) {
      const at = field.lastIndexOf('\n');
      if (at > 0) this.note(field.slice(0, at), field.slice(at + 1), true);
    }
    for (const frame of during) this.note(frame.pattern, frame.node, frame.wanted);
    this.markReady();
  }

  /** The subscriber connection dropped: announcements may be missed until `load` ran again. */
  lost(): void {
    this.ready = this.unread();
  }

  /** Resolves once the registry is known; rejects after `timeout` ms (Redis is unreachable). */
  loaded(timeout: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`redisEngine: the wildcard registry was not read within ${timeout} ms`)), timeout);
    });
    return Promise.race([this.ready, late]).finally(() => clearTimeout(timer));
  }

  /** The wildcard patterns matching the concrete `channel` that some node wants. */
  matching(channel: string): string[] {
    if (this.byPattern.size === 0) return [];
    const patterns = expand(channel);
    const wanted: string[] = [];
    for (let i = 1; i < patterns.length; i++) {
      const pattern = patterns[i] as string;
      if (this.byPattern.has(pattern)) wanted.push(pattern);
    }
    return wanted;
  }

  /** Nodes named in the registry (for the sweep of dead nodes' entries). */
  nodes(): Set<string> {
    const nodes = new Set<string>();
    for (const holders of this.byPattern.values()) for (const node of holders) nodes.add(node);
    return nodes;
  }

  /** This node wants `pattern` now, or no longer; a want resolves once every node listening knows it. */
  announce(pattern: string, wanted: boolean): Promise<void> {
    return this.change(pattern, this.node.nodeId, wanted);
  }

  /** Removes a dead node's entries, announced as if it had said so. */
  async forgetNode(node: string): Promise<void> {
    for (const [pattern, holders] of [...this.byPattern]) if (holders.has(node)) await this.change(pattern, node, false);
  }

  /** An announcement came (also this node's own): noted, and acknowledged when asked. */
  announced(frame: WildcardFrame): void {
    this.during?.push(frame);
    this.note(frame.pattern, frame.node, frame.wanted);
    if (frame.token !== '') this.node.track(this.node.sendTo(frame.reply, { kind: 'ack', token: frame.token }));
  }

  private async change(pattern: string, node: string, wanted: boolean): Promise<void> {
    const { node: self } = this;
    const redis = self.redis();
    const field = `${pattern}\n${node}`;
    if (wanted) await redis.hset(this.channel, field, '1');
    else await redis.hdel(this.channel, field);
    const token = wanted ? randomBytes(8).toString('base64url') : '';
    const frame: WildcardFrame = { kind: 'wildcard', pattern, node, wanted, reply: self.nodeId, token };
    const acks = token === '' ? undefined : self.awaitAcks(token, self.timeout);
    const receivers = Number(await self.send(this.channel, encode(frame)));
    if (acks === undefined) return;
    acks.expect(receivers);
    if (!(await acks.settled)) {
      self.local.host.logger.warn(
        { engine: 'redis', pattern },
        'express-bayeux: not every node acknowledged a wildcard subscription in time; a publish from one of them may miss it',
      );
    }
  }

  private note(pattern: string, node: string, wanted: boolean): void {
    let holders = this.byPattern.get(pattern);
    if (wanted) {
      if (holders === undefined) {
        holders = new Set();
        this.byPattern.set(pattern, holders);
      }
      holders.add(node);
    } else if (holders?.delete(node) === true && holders.size === 0) {
      this.byPattern.delete(pattern);
    }
  }

  private unread(): Promise<void> {
    return new Promise((resolve) => {
      this.markReady = resolve;
    });
  }
}
