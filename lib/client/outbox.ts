/**
 * What the client has to send and what awaits a reply: requests queue up
 * (everything sent in one tick, or in `batch()`, leaves together) until there
 * is a session and a transport; each keeps its promise until its reply comes.
 */
import type { Message } from '../protocol/message.js';
import { BayeuxClientError } from './errors.js';

/** Most messages the client puts in one request or frame. */
const MAX_BATCH = 100;

interface Pending {
  resolve(reply: Message): void;
  reject(error: BayeuxClientError): void;
  /** What was sent, to send again over long-polling when the WebSocket is refused. */
  message: Message;
  /** A subscription the client restores on its own after a new handshake (nobody awaits it). */
  restore?: true;
}

export class Outbox {
  private queue: Message[] = [];
  private readonly pending = new Map<string, Pending>();
  private nextId = 0;
  private scheduled = false;
  private depth = 0;

  /** `flush` is called in a microtask after messages were queued, outside a batch. */
  constructor(private readonly flush: () => void) {}

  /** A fresh message id. */
  id(): string {
    return String(++this.nextId);
  }

  /** Queues a request; resolves with its successful reply, rejects with why it failed. */
  request(message: Message): Promise<Message> {
    const sent = { ...message, id: this.id() };
    const promise = new Promise<Message>((resolve, reject) => this.pending.set(sent.id, { resolve, reject, message: sent }));
    this.push(sent);
    return promise;
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
    const pending = this.awaiting(reply.id);
    if (pending === undefined) return undefined;
    this.pending.delete(String(reply.id));
    if (reply.successful === true) pending.resolve(reply);
    else pending.reject(BayeuxClientError.fromReply(reply));
    return pending;
  }

  /** Fails the requests among `sent` (not connects or handshakes, which the client retries itself). */
  failSent(sent: readonly Message[], cause: unknown): void {
    for (const m of sent) {
      if (m.id === undefined || m.channel === '/meta/connect' || m.channel === '/meta/handshake') continue;
      const pending = this.pending.get(String(m.id));
      this.pending.delete(String(m.id));
      pending?.reject(BayeuxClientError.network(m.channel, cause));
    }
  }

  /** Fails every request and forgets what was queued. */
  clear(failure: BayeuxClientError): void {
    for (const pending of this.pending.values()) pending.reject(failure);
    this.pending.clear();
    this.queue = [];
  }
}
