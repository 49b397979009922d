/**
 * What the client has to send and what awaits a reply: requests queue up
 * (everything sent in one tick, or in `batch()`, leaves together) until there
 * is a session and a transport; each keeps its promise until its reply comes.
 */
import type { Message } from '../protocol/message.js';
import { BayeuxClientError } from './errors.js';

/** Most messages the client puts in one request or frame. */
const MAX_BATCH = 100;

/** The outbox's bounds (client options `maxQueued` and `requestTimeout`). */
export interface OutboxLimits {
  /** Requests awaiting a reply at most; one more rejects at once (`queue-full`). */
  maxQueued: number;
  /** Milliseconds a request may wait for its reply, queued or sent; then it rejects (`timeout`). */
  requestTimeout: number;
}

interface Pending {
  resolve(reply: Message): void;
  reject(error: BayeuxClientError): void;
  /** What was sent, to send again over long-polling when the WebSocket is refused. */
  message: Message;
  /** A subscription the client restores on its own after a new handshake (nobody awaits it). */
  restore?: true;
  /** The deadline of an awaited request. */
  timer?: ReturnType<typeof setTimeout>;
}

export class Outbox {
  private queue: Message[] = [];
  private readonly pending = new Map<string, Pending>();
  private nextId = 0;
  private scheduled = false;
  private depth = 0;

  /** Awaited requests (not restores), for `maxQueued`. */
  private awaited = 0;

  /** `flush` is called in a microtask after messages were queued, outside a batch. */
  constructor(
    private readonly flush: () => void,
    private readonly limits: OutboxLimits,
  ) {}

  /** Requests awaiting their reply now. */
  get size(): number {
    return this.awaited;
  }

  /** A fresh message id. */
  id(): string {
    return String(++this.nextId);
  }

  /**
   * Queues a request; resolves with its successful reply, rejects with why it
   * failed: at once when `maxQueued` requests already wait, after
   * `requestTimeout` when no reply came (it is then forgotten: a late reply is ignored).
   */
  request(message: Message): Promise<Message> {
    const { maxQueued, requestTimeout } = this.limits;
    if (this.awaited >= maxQueued) {
      const why = `${maxQueued} requests already wait for the server (option "maxQueued")`;
      return Promise.reject(BayeuxClientError.local('queue-full', why, message.channel));
    }
    const sent = { ...message, id: this.id() };
    const promise = new Promise<Message>((resolve, reject) => {
      const pending: Pending = { resolve, reject, message: sent };
      pending.timer = setTimeout(() => {
        if (this.pending.get(sent.id) !== pending) return;
        this.forget(sent.id);
        this.queue = this.queue.filter((m) => m !== sent);
        const why = `no reply from the server within ${requestTimeout} ms (option "requestTimeout")`;
        reject(BayeuxClientError.local('timeout', why, sent.channel));
      }, requestTimeout);
      // A deadline alone does not keep a Node process alive.
      (pending.timer as { unref?: () => void }).unref?.();
      this.pending.set(sent.id, pending);
      this.awaited++;
    });
    this.push(sent);
    return promise;
  }

  /** Drops a pending entry and its deadline; returns it. */
  private forget(id: string): Pending | undefined {
    const pending = this.pending.get(id);
    if (pending === undefined) return undefined;
    this.pending.delete(id);
    if (pending.timer !== undefined) {
      clearTimeout(pending.timer);
      this.awaited--;
    }
    return pending;
  }

  /** Queues a message nobody awaits. */
  push(message: Message): void {
    this.queue.push(message);
    this.schedule();
  }

  /** Queues restoring subscribes ahead of everything else, tracked so a refused socket can send them again. */
  restore(messages: readonly Message[]): void {
    for (const message of messages) this.pending.set(String(message.id), { resolve() {}, reject() {}, message, restore: true });
    this.queue.unshift(...messages);
  }

  /** Runs `run`; what it queues leaves in one request. */
  batch(run: () => void): void {
    this.depth++;
    try {
      run();
    } finally {
      this.depth--;
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.scheduled || this.depth > 0) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** Takes everything queued, stamped with `clientId`, in batches a server accepts (ours caps at 256 by default). */
  drain(clientId: string): Message[][] {
    const queued = this.queue;
    this.queue = [];
    for (const m of queued) m.clientId = clientId;
    const batches: Message[][] = [];
    for (let i = 0; i < queued.length; i += MAX_BATCH) batches.push(queued.slice(i, i + MAX_BATCH));
    return batches;
  }

  /** The request with this id, if it still awaits its reply. */
  awaiting(id: string | number | undefined): Pending | undefined {
    return id === undefined ? undefined : this.pending.get(String(id));
  }

  /** Settles the request a reply answers; returns it, or undefined when none awaited it. */
  settle(reply: Message): Pending | undefined {
    if (reply.id === undefined) return undefined;
    const pending = this.forget(String(reply.id));
    if (pending === undefined) return undefined;
    if (reply.successful === true) pending.resolve(reply);
    else pending.reject(BayeuxClientError.fromReply(reply));
    return pending;
  }

  /** Fails the requests among `sent` (not connects or handshakes, which the client retries itself). */
  failSent(sent: readonly Message[], cause: unknown): void {
    for (const m of sent) {
      if (m.id === undefined || m.channel === '/meta/connect' || m.channel === '/meta/handshake') continue;
      this.forget(String(m.id))?.reject(BayeuxClientError.network(m.channel, cause));
    }
  }

  /** Fails every request and forgets what was queued. */
  clear(failure: BayeuxClientError): void {
    for (const id of [...this.pending.keys()]) this.forget(id)?.reject(failure);
    this.queue = [];
  }
}
