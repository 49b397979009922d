/**
 * The server core: runs each message through incoming extensions, the
 * session and user checks, the ACL and its handler, then outgoing extensions.
 * It knows nothing of HTTP or sockets (transports hand it messages and a
 * context) and keeps no state outside this instance.
 */
import type { EventEmitter } from 'node:events';
import {
  type Engine,
  type EngineHost,
  type EngineLimits,
  type EngineObserver,
  EngineUnavailableError,
  type Envelope,
} from '../engines/engine.js';
import type { HistoryConfig } from '../engines/history/config.js';
import { Stamper } from '../engines/history/position.js';
import type { Logger } from '../engines/logger.js';
import { isPromise, type MaybePromise } from '../engines/maybe-promise.js';
import type { ClientInfo, DisconnectReason, Session } from '../engines/session.js';
import { TokenBuckets } from '../engines/token-bucket.js';
import { type AdviceTiming, drainAdvice, handshakeAdvice, noneAdvice, retryAdvice, unavailableAdvice } from '../protocol/advice.js';
import { isMeta, isService } from '../protocol/channel.js';
import { ChannelIndex } from '../protocol/channel-index.js';
import { bayeuxError } from '../protocol/errors.js';
import { type Advice, type Message, replyTo } from '../protocol/message.js';
import { ConnectAnnouncements } from './announcements.js';
import { ClientIds } from './client-ids.js';
import { type ServerState, within } from './closed.js';
import { ConnectionRegistry } from './connections.js';
import type { ServerContext } from './context.js';
import type { BayeuxEvents } from './events.js';
import { errorFromThrown, runIncoming, runOutgoing } from './extensions.js';
import { deliverLocal, type LocalHandler, type LocalSubscription } from './local.js';
import { isMetaChannel, metaRoute } from './meta/index.js';
import type { MetricsHooks } from './metrics.js';
import type { ResolvedOptions } from './options/resolved.js';
import type { ConnectionType, MessageContext } from './options/types.js';
import { publish } from './publish.js';
import { type Admission, RateLimiter } from './rate-limit.js';
import type { RequestState } from './request.js';
import { service } from './service.js';
import { SessionCheck, sessionError } from './session-check.js';

/** The error a held connect is answered with when its session ends. */
function endError(reason: DisconnectReason): string {
  switch (reason) {
    case 'overflow':
      return bayeuxError('sessionOverflow');
    case 'expired':
      return bayeuxError('sessionExpired');
    case 'revoked':
      return bayeuxError('sessionRevoked', 'revoked');
    case 'credentials-expired':
      return bayeuxError('credentialsExpired', 'expired');
    case 'closed':
      return bayeuxError('serverClosed');
    default:
      return bayeuxError('unknownClient');
  }
}

export class ServerCore<User = unknown> implements EngineHost<User>, ServerContext<User> {
  readonly engine: Engine<User>;
  readonly limits: EngineLimits;
  readonly logger: Logger;
  readonly registry: ConnectionRegistry<User>;
  /** Channel history (`history` option); undefined when off. */
  readonly history: HistoryConfig | undefined;
  /** Serializes messages of history channels with holes for their position. */
  readonly stamper: Stamper | undefined;
  /** Where handshakes get their clientIds. */
  readonly clientIds = new ClientIds();
  /** Local subscribers of this node (`server.subscribe`). */
  readonly localSubscribers = new ChannelIndex<LocalSubscription>();
  /** Resolves once the engine is open; requests wait for it. */
  readonly ready: Promise<void>;
  private isOpen = false;
  /** When the server was created (the health of engines that report none starts here). */
  readonly createdAt = Date.now();
  /** Set by `server.metrics()`; every hook on the message path is one check of this field. */
  metrics: MetricsHooks | undefined;
  /** Message rate limits; undefined when both are off. */
  private readonly limiter: RateLimiter | undefined;
  private readonly limiterFailed = (err: unknown): undefined => {
    this.logger.debug({ err }, 'express-bayeux: rate limit not checked (engine unavailable)');
    return undefined;
  };
  private current: ServerState = 'running';
  /** `connect` events of sessions handshaken here, waiting for their first /meta/connect. */
  readonly announcements: ConnectAnnouncements<User>;
  private readonly sessionCheck: SessionCheck;
  private closing: Promise<void> | undefined;
  private types: ConnectionType[] = ['long-polling', 'callback-polling'];
  private readonly timing: AdviceTiming;
  /** True from `drain()` on: handshakes are refused and polls answered at once, with advice to go elsewhere. */
  draining = false;
  /** Work to do when a drain starts (e.g. closing sockets so their clients reconnect elsewhere). */
  private readonly drainers: (() => Promise<void>)[] = [];
  /** Handshakes admitted per second on this node (`handshakeRate`); undefined when unlimited. */
  private readonly handshakes = new TokenBuckets();

  constructor(
    readonly options: ResolvedOptions<User>,
    private readonly emitter: EventEmitter,
  ) {
    this.engine = options.engine;
    this.logger = options.logger;
    this.history = options.history;
    this.stamper = options.history === undefined ? undefined : new Stamper(options.history.salesforce);
    this.timing = { timeout: options.timeout, interval: options.interval, maxInterval: options.maxInterval };
    this.announcements = new ConnectAnnouncements(options.maxInterval, (event) => this.emit('connect', event));
    this.sessionCheck = new SessionCheck(this.logger, this.timing);
    this.limits = {
      maxQueue: options.maxQueue,
      queuePolicy: options.queuePolicy,
      maxInterval: options.maxInterval,
      maxSessions: options.maxSessions,
      maxSessionsPerIp: options.maxSessionsPerIp,
    };
    if (!options.callbackPolling) this.types = ['long-polling'];
    const { session, ip } = options.rateLimit;
    this.limiter =
      session === undefined && ip === undefined
        ? undefined
        : new RateLimiter(this.engine, options.rateLimit, (scope, refused) => {
            this.metrics?.rateLimited(scope, refused);
            this.logger.debug({ scope, refused }, `express-bayeux: ${refused} message(s) refused by the ${scope} rate limit`);
          });
    this.registry = new ConnectionRegistry(
      (session, reply) => this.finishConnect(session, reply),
      options.clientMaxConnections,
      (err) => this.logger.error({ err }, 'express-bayeux: outgoing extension failed on a connect reply'),
    );
    this.ready = this.engine.open(this).then(() => {
      this.isOpen = true;
    });
    // A failed open is reported by every request that waits on `ready`; keep it from being unhandled here.
    this.ready.catch((err: unknown) => this.logger.error({ err }, `express-bayeux: the ${this.engine.name} engine failed to open`));
  }

  /** True once the engine is open. */
  get opened(): boolean {
    return this.isOpen;
  }

  /** `running` until `close()`; then `closing`, then `closed`. */
  get state(): ServerState {
    return this.current;
  }

  /** True once `close()` was called: requests, upgrades and API calls are refused. */
  get closed(): boolean {
    return this.current !== 'running';
  }

  /** Connection types offered in handshake replies. */
  connectionTypes(): string[] {
    return [...this.types];
  }

  supports(type: unknown): type is ConnectionType {
    return this.types.some((offered) => offered === type);
  }

  /** Offers another connection type (the WebSocket transport adds `websocket` when attached). */
  addConnectionType(type: ConnectionType): void {
    if (!this.types.includes(type)) this.types = [type, ...this.types];
  }

  /** Fresh `retry` advice with the server's timing. */
  advice(): Advice {
    return retryAdvice(this.timing);
  }

  /** Where the engine reports measurements (EngineHost): only while metrics are on. */
  get observer(): EngineObserver | undefined {
    return this.metrics?.observer;
  }

  /** Listens to the server's own events (metrics count from them). */
  on<K extends keyof BayeuxEvents<User>>(event: K, listener: (...args: BayeuxEvents<User>[K]) => void): void {
    this.emitter.on(event, listener);
  }

  /** Emits an event; a throwing listener is logged and never breaks the protocol. */
  emit<K extends keyof BayeuxEvents<User>>(event: K, ...args: BayeuxEvents<User>[K]): void {
    try {
      this.emitter.emit(event, ...args);
    } catch (err) {
      this.logger.error({ err, event }, `express-bayeux: a "${event}" listener threw`);
    }
  }

  /**
   * Processes the messages of one request in order, filling `request.replies`
   * and `request.connect`. Synchronous while every step answers at once (a
   * session held here, hooks that return no promise): a poll then costs no
   * promise and no microtask; the first step that waits turns the rest into a promise.
   */
  process(messages: readonly Message[], request: RequestState<User>): MaybePromise<void> {
    // An engine that cannot count (Redis down) lets the messages through: each then meets the outage on its own.
    // Polls count against no limit: a batch of them skips the limiter (and its promises) altogether.
    if (this.limiter === undefined || !messages.some(RateLimiter.counts)) return this.processFrom(messages, request, 0, undefined, 0);
    return this.limiter
      .admit(messages, request)
      .catch(this.limiterFailed)
      .then((admission) => this.processFrom(messages, request, 0, admission, 0));
  }

  private processFrom(
    messages: readonly Message[],
    request: RequestState<User>,
    from: number,
    admission: Admission | undefined,
    counted: number,
  ): MaybePromise<void> {
    for (let i = from; i < messages.length; i++) {
      const message = messages[i] as Message;
      const refused = admission !== undefined && RateLimiter.counts(message) && counted++ >= admission.allowed;
      const reply = refused ? admission.refuse(message) : this.handle(message, request);
      if (isPromise(reply)) return this.processAfter(reply, messages, request, i + 1, admission, counted);
      if (reply !== undefined) request.replies.push(JSON.stringify(reply));
    }
  }

  /** The rest of `processFrom` once a message's reply is ready. */
  private async processAfter(
    pending: Promise<Message | undefined>,
    messages: readonly Message[],
    request: RequestState<User>,
    next: number,
    admission: Admission | undefined,
    counted: number,
  ): Promise<void> {
    const reply = await pending;
    if (reply !== undefined) request.replies.push(JSON.stringify(reply));
    await this.processFrom(messages, request, next, admission, counted);
  }

  /** One message in, its reply (after outgoing extensions) out; never throws nor rejects. */
  private handle(message: Message, request: RequestState<User>): MaybePromise<Message | undefined> {
    const startedAt = this.metrics === undefined ? 0 : performance.now();
    // A client cannot pre-set the field extensions use to refuse a message.
    if (message.error !== undefined) delete message.error;
    let session: MaybePromise<Session<User> | undefined>;
    try {
      const clientId = message.clientId;
      if (message.channel === '/meta/handshake') session = undefined;
      else if (typeof clientId === 'string') session = request.session(this.engine, clientId);
      else if (isMeta(message.channel) || !this.options.anonPublish) {
        const error = clientId === undefined ? bayeuxError('missingParameter', 'clientId') : bayeuxError('invalidParameter', 'clientId');
        return this.handled(message, sessionError(message, error, this.options.interval), undefined, startedAt);
      } else session = undefined;
    } catch (err) {
      return this.handled(message, this.failure(message, err), undefined, startedAt);
    }
    if (isPromise(session)) return this.checkAfter(session, message, request, startedAt);
    return this.check(message, request, session, startedAt);
  }

  private checkAfter(
    session: Promise<Session<User> | undefined>,
    message: Message,
    request: RequestState<User>,
    startedAt: number,
  ): Promise<Message | undefined> {
    return session.then(
      (found) => this.check(message, request, found, startedAt),
      (err: unknown) => this.handled(message, this.failure(message, err), undefined, startedAt),
    );
  }

  /** With the session looked up: the session and user checks, then the handler. */
  private check(
    message: Message,
    request: RequestState<User>,
    session: Session<User> | undefined,
    startedAt: number,
  ): MaybePromise<Message | undefined> {
    let ctx: MessageContext<User> | undefined;
    let reply: MaybePromise<Message | undefined>;
    try {
      const isHandshake = message.channel === '/meta/handshake';
      const refusal =
        typeof message.clientId === 'string' && !isHandshake ? this.sessionCheck.refusal(message, session, request) : undefined;
      if (refusal !== undefined) reply = refusal;
      else {
        ctx = this.messageContext(request, session, isHandshake);
        reply = this.dispatch(message, request, ctx, session);
      }
    } catch (err) {
      reply = this.failure(message, err);
    }
    if (isPromise(reply)) return this.handledAfter(reply, message, ctx, startedAt);
    return this.handled(message, reply, ctx, startedAt);
  }

  private handledAfter(
    reply: Promise<Message | undefined>,
    message: Message,
    ctx: MessageContext<User> | undefined,
    startedAt: number,
  ): Promise<Message | undefined> {
    return reply.then(
      (done) => this.handled(message, done, ctx, startedAt),
      (err: unknown) => this.handled(message, this.failure(message, err), ctx, startedAt),
    );
  }

  /** The reply to a message whose handling threw. */
  private failure(message: Message, err: unknown): Message {
    const reply = replyTo(message, false);
    if (err instanceof EngineUnavailableError) {
      // The engine logs its outage once; each refused message only gets advice to come back later.
      reply.error = bayeuxError('engineUnavailable');
      reply.advice = unavailableAdvice(err.retryAfter);
      if (typeof message.clientId === 'string') reply.clientId = message.clientId;
      if (message.subscription !== undefined) reply.subscription = message.subscription;
    } else {
      this.logger.error({ err, channel: message.channel }, 'express-bayeux: a message handler failed');
      reply.error = errorFromThrown(err);
    }
    return reply;
  }

  /** A handled message's last steps: metrics, then the outgoing extensions on its reply. */
  private handled(
    message: Message,
    reply: Message | undefined,
    ctx: MessageContext<User> | undefined,
    startedAt: number,
  ): MaybePromise<Message | undefined> {
    // Metrics switched on while the message was handled count from its next one.
    if (this.metrics !== undefined && startedAt !== 0) this.metrics.handled(message, reply, startedAt);
    if (reply === undefined || this.options.extensions.length === 0) return reply;
    let outgoing: MaybePromise<void>;
    try {
      outgoing = runOutgoing(this.options.extensions, reply, { kind: 'reply', client: ctx?.client, request: ctx });
    } catch (err) {
      this.outgoingFailed(reply, err);
      return reply;
    }
    return isPromise(outgoing) ? this.outgoingAfter(outgoing, reply) : reply;
  }

  private outgoingAfter(outgoing: Promise<void>, reply: Message): Promise<Message> {
    return outgoing.then(
      () => reply,
      (err: unknown) => {
        this.outgoingFailed(reply, err);
        return reply;
      },
    );
  }

  private outgoingFailed(reply: Message, err: unknown): void {
    this.logger.error({ err, channel: reply.channel }, 'express-bayeux: an outgoing extension failed');
  }

  /** Runs the incoming extensions, then the message's handler. */
  private dispatch(
    message: Message,
    request: RequestState<User>,
    ctx: MessageContext<User>,
    session: Session<User> | undefined,
  ): MaybePromise<Message | undefined> {
    const incoming = runIncoming(this.options.extensions, message, ctx);
    if (isPromise(incoming)) return this.routeAfter(incoming, message, request, ctx, session);
    return this.route(message, request, ctx, session);
  }

  private async routeAfter(
    incoming: Promise<void>,
    message: Message,
    request: RequestState<User>,
    ctx: MessageContext<User>,
    session: Session<User> | undefined,
  ): Promise<Message | undefined> {
    await incoming;
    return this.route(message, request, ctx, session);
  }

  /** The handler of the message's channel, unless an incoming extension refused it. */
  private route(
    message: Message,
    request: RequestState<User>,
    ctx: MessageContext<User>,
    session: Session<User> | undefined,
  ): MaybePromise<Message | undefined> {
    const channel = message.channel;
    if (typeof message.error === 'string') {
      const reply = replyTo(message, false);
      reply.error = message.error;
      if (session !== undefined) reply.clientId = session.id;
      return reply;
    }
    if (isMetaChannel(channel)) {
      const route = metaRoute(channel);
      const call = { server: this, request, ctx };
      if (!route.session) return route.run(call, message);
      // `check` refused every meta message but the handshake that had no live session.
      if (session === undefined) return sessionError(message, bayeuxError('unknownClient'), this.options.interval);
      return route.run(call, message, session);
    }
    if (isMeta(channel)) {
      const reply = replyTo(message, false);
      reply.error = bayeuxError('unknownChannel', channel);
      return reply;
    }
    if (isService(channel)) return service(this, message, ctx, session);
    return publish(this, message, ctx);
  }

  /**
   * The context hooks see. Only a handshake carries the request's own user;
   * afterwards the user bound to the session speaks, and an anonymous publish
   * has none, so a cross-site request riding on cookies cannot act as anyone.
   */
  private messageContext(request: RequestState<User>, session: Session<User> | undefined, isHandshake: boolean): MessageContext<User> {
    const ctx = request.ctx;
    return {
      ip: ctx.ip,
      user: isHandshake ? ctx.user : session?.user,
      req: ctx.req,
      transport: ctx.transport,
      upgrade: ctx.upgrade,
      client: session,
    };
  }

  /** Runs outgoing extensions on a connect reply and serializes it, when it is sent. */
  finishConnect(session: Session<User>, reply: Message): string | Promise<string> {
    const extensions = this.options.extensions;
    if (extensions.length === 0) return JSON.stringify(reply);
    const finished = runOutgoing(extensions, reply, { kind: 'reply', client: session, request: undefined });
    if (finished === undefined) return JSON.stringify(reply);
    return finished.then(() => JSON.stringify(reply));
  }

  // EngineHost

  messagesQueued(session: Session<User>): void {
    this.registry.wake(session);
  }

  sessionDropped(session: Session<User>, reason: DisconnectReason): void {
    const advice = reason === 'client' ? noneAdvice() : handshakeAdvice(this.options.interval);
    this.registry.drop(session, { channel: '/meta/connect', successful: false, error: endError(reason), advice });
  }

  sessionMovedAway(session: Session<User>): void {
    this.registry.relinquish(session);
  }

  sessionEnded(client: ClientInfo<User>, reason: DisconnectReason, channels: readonly string[] = []): void {
    this.logger.debug({ clientId: client.id, ip: client.ip, reason }, `express-bayeux: session ended (${reason})`);
    this.announcements.ended(client.id);
    const user = client.user;
    for (const channel of channels) this.emit('leave', { channel, clientId: client.id, user });
    this.emit('disconnect', { clientId: client.id, ip: client.ip, user, data: client.data, reason });
  }

  broadcastArrived(envelope: Envelope): void {
    if (this.localSubscribers.size === 0) return;
    this.localSubscribers.match(envelope.channel, deliverLocal, { message: envelope.message, logger: this.logger });
  }

  messagesDropped(client: ClientInfo<User>, dropped: number): void {
    this.emit('overflow', { clientId: client.id, user: client.user, dropped });
  }

  /** Adds a local subscriber; returns the function that removes it. */
  subscribeLocal(channel: string, handler: LocalHandler): () => void {
    const subscription: LocalSubscription = { handler };
    this.localSubscribers.add(channel, subscription);
    if (this.localSubscribers.subscribers(channel)?.size === 1) this.engine.watch?.(channel, true);
    return () => {
      if (this.localSubscribers.remove(channel, subscription) && this.localSubscribers.subscribers(channel) === undefined) {
        this.engine.watch?.(channel, false);
      }
    };
  }

  /** Advice for a client of a draining node: retry after a spread-out pause (the balancer sends it elsewhere). */
  retryElsewhere(): Advice {
    return drainAdvice(this.timing);
  }

  /** True when one more handshake fits this node's `handshakeRate`. */
  admitHandshake(): boolean {
    const limit = this.options.handshakeRate;
    if (limit === undefined) return true;
    return this.handshakes.take([{ key: 'handshakes', ...limit }], 1, Date.now()).granted === 1;
  }

  onDrain(drainer: () => Promise<void>): void {
    this.drainers.push(drainer);
  }

  /** Starts draining: held polls are answered with advice to come back (elsewhere), sockets are closed. */
  async startDraining(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.registry.answerAll(() => this.retryElsewhere());
    await within(Promise.all(this.drainers.map((drainer) => drainer())), this.options.closeTimeout);
  }

  /** Work to finish when the server closes, after held connects are answered (e.g. closing sockets). */
  private readonly closers: (() => Promise<void>)[] = [];

  onClose(closer: () => Promise<void>): void {
    this.closers.push(closer);
  }

  /**
   * Answers held requests, closes sockets and the engine. Bounded: what does
   * not finish within `closeTimeout` is logged and left behind.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.current = 'closing';
    const limit = this.options.closeTimeout;
    // Held connects are answered as a normal timeout: clients retry (with backoff) until a server answers again.
    this.registry.closeAll();
    const stopEngine = async () => {
      if (!(await within(this.ready, limit))) return false;
      // The memory engine ends its sessions here (`disconnect` with reason `closed`).
      return within(this.engine.close(), limit);
    };
    const socketsDone = await within(Promise.all(this.closers.map((closer) => closer())), limit);
    const engineDone = await stopEngine();
    if (!engineDone)
      this.logger.warn(
        { engine: this.engine.name, closeTimeout: limit },
        `express-bayeux: the ${this.engine.name} engine did not close within ${limit} ms; gave up waiting`,
      );
    if (!socketsDone)
      this.logger.warn({ closeTimeout: limit }, `express-bayeux: sockets did not close within ${limit} ms; gave up waiting`);
    this.announcements.clear();
    this.current = 'closed';
  }
}
