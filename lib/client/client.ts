/**
 * The Bayeux client: handshake, one outstanding /meta/connect, advice-driven
 * reconnects with backoff, batching of what is sent in one tick, and
 * re-subscription after a new handshake. Runs in browsers and Node.
 */
import { BAYEUX_VERSION } from '../protocol/advice.js';
import { isValidChannel, isWildcard } from '../protocol/channel.js';
import { BAYEUX_ERRORS, bayeuxError } from '../protocol/errors.js';
import type { Message } from '../protocol/message.js';
import { AckState } from './ack.js';
import { ServerAdvice } from './advice.js';
import { Backoff } from './backoff.js';
import { Emitter } from './emitter.js';
import { BayeuxClientError } from './errors.js';
import type { ClientEvents, ClientState } from './events.js';
import { Links } from './links.js';
import { LongPollingTransport } from './long-polling.js';
import { type BayeuxClientOptions, type ResolvedClientOptions, resolveClientOptions, runIncoming, runOutgoing } from './options.js';
import { Outbox } from './outbox.js';
import { gapOf, Positions } from './positions.js';
import { type MessageHandler, type SubscribeOptions, type Subscription, Subscriptions } from './subscriptions.js';
import { type ClientTransport, type ClientTransportName, CookieJar, type TransportSettings, type TransportSink } from './transport.js';
import { watchWake } from './wake.js';
import { WebSocketTransport } from './websocket.js';

/** The server refused the session on the socket: its user differs (a socket without the login, see `useOnUpgrade`). */
const SOCKET_WITHOUT_LOGIN = bayeuxError('userMismatch');

/**
 * The first retry's ceiling (ms). Wide enough that the clients of a node that
 * died come back spread over 3 s (bench:storm, 2,500 sessions: 3.3 s from
 * first to last retry; with 1 s it was 1.4 s, 1 s of jitter and 0.4 s of the
 * dead node's sockets closing), at a mean wait of 1.5 s for one client.
 */
const INITIAL_BACKOFF = 3000;

export class BayeuxClient extends Emitter<ClientEvents> {
  state: ClientState = 'disconnected';
  transport: ClientTransportName | undefined;
  clientId: string | undefined;

  private readonly url: string;
  private readonly options: ResolvedClientOptions;
  private readonly subscriptions = new Subscriptions();
  private readonly outbox: Outbox;
  private readonly backoff: Backoff;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly advice = new ServerAdvice();
  private readonly links: Links;
  private connectOutstanding = false;
  private handshaking = false;
  private firstConnect: { resolve(): void; reject(e: BayeuxClientError): void; promise: Promise<void> } | undefined;
  private inbound: Promise<void> = Promise.resolve();
  private outbound: Promise<void> = Promise.resolve();
  private leaving = false;
  private readonly ack = new AckState();
  private readonly cookies = new CookieJar();
  /** Last position per history channel, to resume from after a new handshake and to drop re-sends. */
  private readonly positions = new Positions();
  private replayOffered = false;
  /** The retry this client waits to run, so that `online` or a page becoming visible can run it now. */
  private waiting: { timer: ReturnType<typeof setTimeout>; run: () => void } | undefined;
  /** Stops watching the browser's `online` and visibility events. */
  private unwatch: (() => void) | undefined;

  constructor(url: string, options: BayeuxClientOptions = {}) {
    super();
    this.url = url;
    this.options = resolveClientOptions(options);
    this.outbox = new Outbox(() => this.flush(), this.options);
    this.links = new Links(
      this.options.transports,
      () => new LongPollingTransport(this.settings(), this.sink()),
      () => WebSocketTransport.open(this.settings(), this.sink('websocket'), this.options.webSocketTimeout, this.options.WebSocket),
    );
    this.backoff = new Backoff(options.backoff?.initial ?? INITIAL_BACKOFF, options.backoff?.max ?? 30_000, options.backoff?.random);
  }

  /** Handshakes and starts connecting; resolves once connected, rejects when the server refuses. */
  connect(): Promise<void> {
    if (this.firstConnect !== undefined) return this.firstConnect.promise;
    let resolve!: () => void;
    let reject!: (e: BayeuxClientError) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => {});
    this.firstConnect = { resolve, reject, promise };
    this.unwatch ??= watchWake(() => this.wake());
    this.setState('connecting');
    this.handshake();
    return promise;
  }

  /** Subscribes a handler to a channel or pattern; resolves when the server confirms. */
  async subscribe(channel: string, handler: MessageHandler, options: SubscribeOptions = {}): Promise<Subscription> {
    if (!isValidChannel(channel)) throw new BayeuxClientError(`invalid channel ${JSON.stringify(channel)}`, 405, { channel });
    if (this.subscriptions.add(channel, handler)) {
      const message: Message = { channel: '/meta/subscribe', subscription: channel };
      if (options.replay !== undefined) message.ext = { replay: { [channel]: options.replay } };
      try {
        await this.request(message);
      } catch (err) {
        this.subscriptions.remove(channel, handler);
        throw err;
      }
    }
    return {
      channel,
      cancel: async () => {
        if (this.subscriptions.remove(channel, handler)) {
          this.positions.forget(channel);
          if (this.clientId !== undefined) await this.request({ channel: '/meta/unsubscribe', subscription: channel });
        }
      },
    };
  }

  /** Publishes; resolves with the server's reply, rejects with a `BayeuxClientError`. */
  publish(channel: string, data: unknown): Promise<Message> {
    if (!isValidChannel(channel) || isWildcard(channel)) {
      return Promise.reject(new BayeuxClientError(`invalid channel ${JSON.stringify(channel)}`, 405, { channel }));
    }
    return this.sized({ channel, data });
  }

  /** Calls a `/service/` channel; resolves with the reply's data. */
  async call(channel: string, data?: unknown): Promise<unknown> {
    const target = channel.startsWith('/service/') ? channel : `/service/${channel.replace(/^\//, '')}`;
    return (await this.sized({ channel: target, data: data ?? {} })).data;
  }

  /** Sends everything `run` sends in one request. */
  batch(run: () => void): void {
    this.outbox.batch(run);
  }

  /** Ends the session (telling the server when it can) and stops every timer and transport. */
  async disconnect(): Promise<void> {
    const wasLive = this.clientId !== undefined && this.links.current !== undefined;
    this.leaving = true;
    const goodbye = wasLive ? this.request({ channel: '/meta/disconnect' }).catch(() => undefined) : undefined;
    if (goodbye !== undefined) await goodbye;
    this.stop(undefined);
    this.leaving = false;
  }

  /** Drops the session and transports and handshakes again (subscriptions are restored). */
  reconnect(): void {
    this.resetSession();
    this.setState(this.firstConnect === undefined ? 'connecting' : 'reconnecting');
    if (this.firstConnect === undefined) {
      void this.connect();
      return;
    }
    this.handshake();
  }

  // ---- sending ----

  private request(message: Message): Promise<Message> {
    return this.outbox.request(message);
  }

  /** A request carrying data: refused at once above `maxMessageSize`, never sent. */
  private sized(message: Message): Promise<Message> {
    const size = JSON.stringify(message.data)?.length ?? 0;
    const max = this.options.maxMessageSize;
    if (size > max) {
      const why = `message of ${size} characters is larger than ${max} (option "maxMessageSize")`;
      return Promise.reject(BayeuxClientError.local('too-large', why, message.channel));
    }
    return this.request(message);
  }

  /** Sends what is queued, once there is a session and a transport; order is kept. */
  private flush(): void {
    if (this.clientId === undefined || this.links.current === undefined || this.handshaking) return;
    for (const batch of this.outbox.drain(this.clientId)) this.transmit(batch);
  }

  /** Runs outgoing extensions (in order, possibly async) and hands the batch to the transport. */
  private transmit(batch: Message[], transport?: ClientTransport): void {
    const target = transport ?? this.links.current;
    // Chained, so batches leave in the order they were made even with async extensions.
    this.outbound = this.outbound
      .then(() => runOutgoing(this.options.extensions, batch))
      .then(
        (out) => {
          if (out.length > 0 && target !== undefined) target.send(out);
        },
        (err: unknown) => this.emit('error', new BayeuxClientError(`outgoing extension failed: ${String(err)}`, 0, { cause: err })),
      );
  }

  private settings(): TransportSettings {
    return {
      url: this.url,
      cookies: this.cookies,
      headers: this.options.headers,
      credentials: this.options.credentials,
      deadline: (messages) => {
        const holds = messages.some((m) => m.channel === '/meta/connect');
        return (holds ? this.advice.timeout : 0) + this.options.maxNetworkDelay;
      },
    };
  }

  private sink(via: ClientTransportName = 'long-polling'): TransportSink {
    return {
      messages: (messages) => {
        this.inbound = this.inbound
          .then(() => this.receive(messages, via))
          .catch((err: unknown) => this.emit('error', new BayeuxClientError(`incoming message failed: ${String(err)}`, 0, { cause: err })));
      },
      failure: (sent, error) => this.failed(sent, error),
    };
  }

  // ---- handshake and connect ----

  private handshake(): void {
    this.handshaking = true;
    const http = this.links.handshakeTransport();
    const ext: Record<string, unknown> = { ...this.options.ext };
    if (this.options.ack) ext.ack = true;
    const message: Message = {
      channel: '/meta/handshake',
      version: BAYEUX_VERSION,
      supportedConnectionTypes: [...this.options.transports],
      id: this.outbox.id(),
    };
    if (Object.keys(ext).length > 0) message.ext = ext;
    this.transmit([message], http);
  }

  private async handshaken(reply: Message): Promise<void> {
    this.handshaking = false;
    this.advice.take(reply.advice);
    if (reply.successful !== true) {
      const error = BayeuxClientError.fromReply(reply);
      if (this.advice.reconnect === 'none' || reply.advice?.reconnect === 'none') return this.stop(error);
      this.emit('error', error);
      return this.later(() => this.handshake(), Math.max(this.advice.interval, this.backoff.next()));
    }
    this.clientId = reply.clientId;
    this.ack.start(this.options.ack && reply.ext?.ack === true);
    this.replayOffered = reply.ext?.replay === true;
    const offered = reply.supportedConnectionTypes ?? ['long-polling'];
    const why = await this.links.choose(offered);
    const current = this.links.current;
    if (why !== undefined || current === undefined)
      return this.stop(new BayeuxClientError(why ?? 'no transport', 301, { channel: '/meta/handshake' }));
    this.transport = current.name;
    this.emit('transport', current.name);
    // Restore every subscription, then send what waited for the session, then connect.
    const patterns = this.subscriptions.patterns();
    if (patterns.length > 0) {
      const restore = patterns.map((subscription) => this.resubscription(subscription));
      this.outbox.restore(restore);
    }
    this.flush();
    this.sendConnect(0);
  }

  /** A subscribe restoring `pattern` on a new session, from the last position delivered when history is offered. */
  private resubscription(pattern: string): Message {
    const message: Message = { channel: '/meta/subscribe', subscription: pattern, id: this.outbox.id() };
    const position = this.replayOffered ? this.positions.of(pattern) : undefined;
    if (position !== undefined) message.ext = { replay: { [pattern]: position } };
    return message;
  }

  private sendConnect(timeout?: number): void {
    const current = this.links.current;
    if (this.connectOutstanding || this.clientId === undefined || current === undefined) return;
    this.connectOutstanding = true;
    const message: Message = {
      channel: '/meta/connect',
      clientId: this.clientId,
      connectionType: current.name,
      id: this.outbox.id(),
    };
    if (timeout !== undefined) message.advice = { timeout };
    const ext = this.ack.connectExt();
    if (ext !== undefined) message.ext = ext;
    this.transmit([message]);
  }

  private connected(reply: Message): void {
    this.connectOutstanding = false;
    // Leaving: the server answers the held connect as it ends the session; nothing to follow.
    if (this.leaving) return;
    this.advice.take(reply.advice);
    if (reply.successful === true) {
      this.backoff.reset();
      this.ack.received(reply);
      if (this.state !== 'connected') {
        this.setState('connected');
        this.firstConnect?.resolve();
      }
      this.later(() => this.sendConnect(), this.advice.interval);
      return;
    }
    const error = BayeuxClientError.fromReply(reply);
    // 401: the server ended the session over its credentials; the re-handshake goes through the host's auth again.
    if (error.code === 401 && error.args[0] === 'expired') this.emit('expired', error);
    else if (error.code === 401 && error.args[0] === 'revoked') this.emit('revoked', error);
    const reconnect = reply.advice?.reconnect ?? (error.code === 402 ? 'handshake' : this.advice.reconnect);
    if (reconnect === 'none') {
      this.stop(error);
      return;
    }
    this.emit('error', error);
    this.setState('reconnecting');
    const delay = this.retryDelay();
    if (reconnect === 'handshake') this.startOver(delay);
    else this.later(() => this.sendConnect(), delay);
  }

  // ---- receiving ----

  private async receive(messages: Message[], via: ClientTransportName): Promise<void> {
    for (const raw of messages) {
      const message = await runIncoming(this.options.extensions, raw);
      if (message === null) continue;
      if (via === 'websocket' && message.successful === false && message.error === SOCKET_WITHOUT_LOGIN) {
        this.refusedOnSocket(message);
        continue;
      }
      if (message.channel === '/meta/handshake' && message.successful !== undefined) await this.handshaken(message);
      else if (message.channel === '/meta/connect' && message.successful !== undefined) this.connected(message);
      else if (message.successful !== undefined) this.replied(message);
      else this.deliver(message);
    }
  }

  private replied(reply: Message): void {
    const pending = this.outbox.awaiting(reply.id);
    if (reply.channel === '/meta/subscribe' && reply.successful === true) this.positions.started(reply);
    const gap = reply.channel === '/meta/subscribe' && reply.successful === false ? gapOf(reply) : undefined;
    if (gap !== undefined) {
      this.positions.forget(gap.channel);
      this.emit('gap', gap);
      // A restored subscription goes on live; one the application asked for fails and is its to retry.
      if ((pending === undefined || pending.restore === true) && this.subscriptions.patterns().includes(gap.channel)) {
        this.outbox.push({ channel: '/meta/subscribe', subscription: gap.channel, id: this.outbox.id() });
      }
    }
    this.outbox.settle(reply);
    if (reply.successful !== false) return;
    const error = BayeuxClientError.fromReply(reply);
    const restart = this.restartAdvised(reply, error);
    // Also a restore nobody awaits: the application hears that this subscription is not back (it stays, for the next session).
    if (restart || (pending?.restore === true && gap === undefined)) this.emit('error', error);
    if (!restart) return;
    // The pause the server advises applies; its `reconnect` is for this session only, which ends here.
    if (typeof reply.advice?.interval === 'number') this.advice.take({ interval: reply.advice.interval });
    this.setState('reconnecting');
    this.startOver(this.retryDelay());
  }

  /** Ends the session on the client's side and handshakes again after `delay`. */
  private startOver(delay: number): void {
    this.resetSession();
    this.later(() => this.handshake(), delay);
  }

  /**
   * True when a refusal of this session's request says the session is over:
   * the server forgot it (402), or advises a new handshake (e.g. the session
   * belongs to a user this request is no longer logged in as). Waiting for the
   * held connect to say so would leave the client without its subscriptions
   * for up to a whole poll.
   */
  private restartAdvised(reply: Message, error: BayeuxClientError): boolean {
    if (this.leaving || this.state === 'disconnected' || this.clientId === undefined) return false;
    // A reply to an earlier session's request (answered after this client started over) is only that request's.
    if (reply.clientId !== undefined && reply.clientId !== this.clientId) return false;
    const reconnect = reply.advice?.reconnect ?? (error.code === BAYEUX_ERRORS.unknownClient.code ? 'handshake' : undefined);
    return reconnect === 'handshake';
  }

  /** The first retry follows the advice at once; repeated failures back off so a confused server is not hammered. */
  private retryDelay(): number {
    const repeated = this.backoff.failures > 0;
    const wait = this.backoff.next();
    return repeated ? Math.max(this.advice.interval, wait) : this.advice.interval;
  }

  private deliver(message: Message): void {
    // History channels: a position at or before the last one delivered is a re-send (after a node death).
    if (!this.positions.record(message)) return;
    if (!this.ack.firstTime(message)) return;
    this.emit('message', message);
    this.subscriptions.dispatch(message, this.handlerFailed);
  }

  // ---- failures ----

  private failed(sent: Message[], cause: unknown): void {
    const handshake = sent.find((m) => m.channel === '/meta/handshake');
    const connect = sent.some((m) => m.channel === '/meta/connect');
    this.outbox.failSent(sent, cause);
    if (this.state === 'disconnected' || this.leaving) return;
    const transportDied = this.links.socketDied();
    if (!handshake && !connect && !transportDied) return;
    this.emit('error', BayeuxClientError.network(handshake ? '/meta/handshake' : '/meta/connect', cause));
    if (this.state === 'connected') this.setState('reconnecting');
    const delay = this.backoff.next();
    if (handshake) {
      this.handshaking = false;
      this.later(() => this.handshake(), delay);
      return;
    }
    this.connectOutstanding = false;
    if (transportDied) {
      // The socket is gone: reopen one (or fall back to long-polling) and go on with the same session.
      this.links.current = undefined;
      this.later(() => void this.resume(), delay);
      return;
    }
    this.later(() => this.sendConnect(), delay);
  }

  /**
   * The server refused this session on the socket although the handshake
   * (over HTTP) was accepted: the socket does not carry the login. Use
   * long-polling, which does, and never the socket again; without
   * long-polling, fail with that reason instead of retrying in a loop.
   */
  private refusedOnSocket(reply: Message): void {
    if (this.links.socketAllowed) {
      const error = new BayeuxClientError(
        'the server refused this session over WebSocket: the socket does not carry the login the handshake had (the server needs server.useOnUpgrade(...)); using long-polling',
        403,
        { channel: reply.channel, reply },
      );
      if (!this.links.refuseSocket()) {
        this.stop(error);
        return;
      }
      this.emit('error', error);
      this.transport = 'long-polling';
      this.emit('transport', 'long-polling');
    }
    if (!this.links.onLongPolling()) return;
    if (reply.channel === '/meta/connect') {
      this.connectOutstanding = false;
      this.sendConnect(0);
      return;
    }
    const pending = this.outbox.awaiting(reply.id);
    if (pending !== undefined) this.transmit([pending.message]);
  }

  private async resume(): Promise<void> {
    if (this.clientId === undefined) return this.handshake();
    const current = (await this.links.reopen()) ? this.links.current : undefined;
    if (current === undefined) return this.later(() => void this.resume(), this.backoff.next());
    if (this.transport !== current.name) {
      this.transport = current.name;
      this.emit('transport', current.name);
    }
    this.flush();
    this.sendConnect();
  }

  // ---- lifecycle ----

  private resetSession(): void {
    this.clientId = undefined;
    this.connectOutstanding = false;
    this.handshaking = false;
    this.links.close();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private stop(error: BayeuxClientError | undefined): void {
    this.resetSession();
    const failure = error ?? BayeuxClientError.local('stopped', 'client disconnected');
    this.unwatch?.();
    this.unwatch = undefined;
    this.outbox.clear(failure);
    this.transport = undefined;
    this.setState('disconnected');
    if (error !== undefined) this.emit('error', error);
    this.firstConnect?.reject(failure);
    this.firstConnect = undefined;
  }

  private later(run: () => void, delay: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.waiting?.timer === timer) this.waiting = undefined;
      run();
    }, delay);
    this.timers.add(timer);
    this.waiting = { timer, run };
  }

  /** The network is back or the page visible again: a client waiting to retry retries now, with its backoff reset. */
  private wake(): void {
    const waiting = this.waiting;
    if (waiting === undefined || !this.timers.has(waiting.timer) || (this.state !== 'reconnecting' && this.state !== 'connecting')) return;
    clearTimeout(waiting.timer);
    this.timers.delete(waiting.timer);
    this.waiting = undefined;
    this.backoff.reset();
    waiting.run();
  }

  /** A subscription handler threw or its promise rejected: `handler-error` listeners get it, else it is thrown asynchronously. */
  private readonly handlerFailed = (err: unknown, message: Message): void => {
    if (this.listening('handler-error')) this.emit('handler-error', err, message);
    else
      queueMicrotask(() => {
        throw err;
      });
  };

  private setState(state: ClientState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }
}
