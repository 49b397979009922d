/**
 * Publish load and a long-polling subscriber that behave as real clients do
 * under faults (retry on 503 advice, re-handshake when told), and record what
 * was accepted and delivered, to measure loss and recovery.
 */
import type { Message } from '../../lib/index.js';
import { deliveries, RawClient } from './raw-client.js';

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Publishes `{ seq }` to `channel` every `every` ms until stopped; remembers which were accepted. */
export class PublishLoad {
  readonly accepted = new Map<number, number>();
  refused = 0;
  private seq = 0;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly client: RawClient;

  constructor(
    url: string,
    private readonly channel: string,
    private readonly every = 20,
  ) {
    this.client = new RawClient(url);
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** Stops, then publishes `{ seq: -1 }` until accepted: what comes before it is delivered or lost. */
  async stop(deadline = 30_000): Promise<void> {
    this.running = false;
    await this.loop;
    const until = Date.now() + deadline;
    while (!(await this.send(-1))) {
      if (Date.now() > until) throw new Error('the end marker was never accepted');
      await pause(100);
    }
  }

  /** Publishes the end marker once more; true when accepted. */
  mark(): Promise<boolean> {
    return this.send(-1);
  }

  private async run(): Promise<void> {
    while (this.running) {
      const seq = this.seq++;
      if (await this.send(seq)) this.accepted.set(seq, Date.now());
      else this.refused++;
      await pause(this.every);
    }
  }

  private async send(seq: number): Promise<boolean> {
    try {
      if (this.client.clientId === '' && (await this.client.handshake()).successful !== true) return false;
      const reply = await this.client.publish(this.channel, { seq });
      if (reply.successful === true) return true;
      if (reply.advice?.reconnect === 'handshake') this.client.clientId = '';
      return false;
    } catch {
      return false;
    }
  }
}

/**
 * Long-polls `channel`, re-handshaking and resubscribing when told to, and
 * moving to the next of `urls` (another node) when one stops answering;
 * records each `seq` received.
 */
export class Subscriber {
  readonly received = new Map<number, number>();
  handshakes = 0;
  /** When the latest session finished subscribing (a restarted-empty Redis makes clients join again). */
  joinedAt = 0;
  private running = false;
  private loop: Promise<void> | undefined;
  private ended: (() => void) | undefined;
  private client: RawClient;
  private readonly urls: string[];
  private at = 0;

  constructor(
    urls: string | string[],
    private readonly channel: string,
  ) {
    this.urls = typeof urls === 'string' ? [urls] : urls;
    this.client = new RawClient(this.urls[0] as string);
  }

  /** The same session through the next node. */
  private move(): void {
    if (this.urls.length < 2) return;
    this.at = (this.at + 1) % this.urls.length;
    const next = new RawClient(this.urls[this.at] as string);
    next.clientId = this.client.clientId;
    this.client = next;
  }

  /** Resolves once subscribed, then keeps polling. */
  async start(): Promise<void> {
    await this.join();
    this.running = true;
    this.loop = this.run();
  }

  /** Resolves once the end marker of a PublishLoad arrived (rejects after `ms`). */
  end(ms = 30_000): Promise<void> {
    if (this.received.has(-1)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the end marker never arrived')), ms);
      this.ended = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Resolves once `count` messages arrived (rejects after `ms`). */
  async count(count: number, ms = 30_000): Promise<void> {
    const until = Date.now() + ms;
    while (this.received.size < count) {
      if (Date.now() > until) throw new Error(`only ${this.received.size} of ${count} messages arrived`);
      await pause(20);
    }
  }

  private async join(): Promise<void> {
    this.handshakes++;
    const shake = await this.client.handshake();
    if (shake.successful !== true) throw new Error(`handshake refused: ${shake.error}`);
    const sub = await this.client.subscribe(this.channel);
    if (sub.successful !== true) throw new Error(`subscribe refused: ${sub.error}`);
    this.joinedAt = Date.now();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let messages: Message[];
      try {
        messages = await this.client.connect(this.running ? undefined : 0);
      } catch (err) {
        // The node is gone (not a 503: those are answered): carry on through another.
        if (err instanceof TypeError) this.move();
        await pause(100);
        continue;
      }
      for (const m of deliveries(messages)) {
        const seq = (m.data as { seq?: unknown } | undefined)?.seq;
        if (typeof seq === 'number' && !this.received.has(seq)) this.received.set(seq, Date.now());
        if (seq === -1) this.ended?.();
      }
      const reply = messages.find((m) => m.channel === '/meta/connect');
      if (reply?.successful === true || reply === undefined) continue;
      if (reply.advice?.reconnect === 'handshake') {
        await this.join().catch(() => pause(200));
      } else {
        await pause(Math.min(Number(reply.advice?.interval ?? 200), 1000));
      }
    }
  }
}

/** What a fault did to a run: counts and the time without deliveries around the fault. */
export interface FaultReport {
  accepted: number;
  refused: number;
  delivered: number;
  /** Accepted publishes that never arrived. */
  lost: number;
  /** Milliseconds from the fault to the first delivery of a message published after it. */
  recoveryMs: number;
}

export function report(load: PublishLoad, subscriber: Subscriber, faultAt: number): FaultReport {
  let lost = 0;
  for (const seq of load.accepted.keys()) if (!subscriber.received.has(seq)) lost++;
  let firstAfter = Number.POSITIVE_INFINITY;
  for (const [seq, at] of subscriber.received) {
    const sent = load.accepted.get(seq);
    if (sent !== undefined && sent > faultAt) firstAfter = Math.min(firstAfter, at);
  }
  return {
    accepted: load.accepted.size,
    refused: load.refused,
    delivered: [...load.accepted.keys()].filter((s) => subscriber.received.has(s)).length,
    lost,
    recoveryMs: firstAfter - faultAt,
  };
}
