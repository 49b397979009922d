/**
 * /meta/handshake (Bayeux 1.0 §4.1).
 * Request MUST: channel, version, supportedConnectionTypes. MAY: minimumVersion, ext, id.
 * Reply MUST: channel, version, supportedConnectionTypes, clientId, successful.
 * Reply MAY: minimumVersion, advice, ext, id, authSuccessful; error when unsuccessful.
 */
import { SessionLimitError } from '../../engines/engine.js';
import type { ClientInfo, Session } from '../../engines/session.js';
import { BAYEUX_VERSION, handshakeAdvice, jittered, noneAdvice } from '../../protocol/advice.js';
import { bayeuxError } from '../../protocol/errors.js';
import { type Message, replyTo } from '../../protocol/message.js';
import type { MetaCall, ServerContext } from '../context.js';
import { sessionExpiry } from '../expiry.js';
import { authorize } from '../extensions.js';

/** Seconds-scale pause advised when the server is full, so refused clients do not hammer it. */
const FULL_RETRY_INTERVAL = 5000;
/** Pause advised (jittered) to a handshake past `handshakeRate`. */
const HANDSHAKE_RETRY_INTERVAL = 1000;

/** The error refusing a handshake's version or connection types, or undefined when they fit. */
function refuseTypes<User>(server: ServerContext<User>, message: Message, ip: string): string | undefined {
  const version = message.version;
  if (typeof version !== 'string') return bayeuxError('missingParameter', 'version');
  if (!/^1(\.|$)/.test(version)) return bayeuxError('versionMismatch', version);
  const offered = message.supportedConnectionTypes;
  if (!Array.isArray(offered) || offered.length === 0 || !offered.every((t) => typeof t === 'string')) {
    return bayeuxError('missingParameter', 'supportedConnectionTypes');
  }
  if (offered.some((t) => server.supports(t))) return undefined;
  // A websocket-only client and a server that was never attached: name the fix, not just the code.
  const unattached = offered.includes('websocket') && !server.supports('websocket');
  if (!unattached) return bayeuxError('connectionTypeMismatch', offered.join(','));
  server.logger.warn(
    { ip },
    'express-bayeux: a client asked for WebSocket only, but server.attach(httpServer) was never called; it is refused',
  );
  const hint = 'Connection types not supported (websocket is offered once the server calls server.attach(httpServer))';
  return bayeuxError('connectionTypeMismatch', offered.join(','), hint);
}

export async function handshake<User>({ server, request, ctx }: MetaCall<User>, message: Message): Promise<Message> {
  const reply = replyTo(message, false);
  reply.version = BAYEUX_VERSION;
  reply.supportedConnectionTypes = server.connectionTypes();
  // Failures a retry cannot fix are answered with reconnect "none": no retry storm.
  const fail = (error: string): Message => {
    reply.error = error;
    reply.advice = noneAdvice();
    return reply;
  };
  const invalid = refuseTypes(server, message, ctx.ip);
  if (invalid !== undefined) return fail(invalid);
  // A draining node takes no new session; a storm is admitted at a bounded pace. Both: retry later, spread out.
  const busy = server.draining ? 'draining' : server.admitHandshake() ? undefined : 'tooManyHandshakes';
  if (busy !== undefined) {
    reply.error = bayeuxError(busy);
    reply.advice = handshakeAdvice(busy === 'draining' ? (server.retryElsewhere().interval as number) : jittered(HANDSHAKE_RETRY_INTERVAL));
    return reply;
  }

  const client: ClientInfo<User> = {
    id: server.clientIds.next(),
    user: ctx.user,
    ip: ctx.ip,
    transport: ctx.transport,
    data: {},
  };
  const refused = await authorize(server.options.messageACL, message, { ...ctx, client }, 'handshakeDenied', '');
  if (refused !== undefined) return fail(refused);
  // Credentials that already expired cannot get better by retrying: refused with reconnect "none".
  const expiry = await sessionExpiry(server.options.sessionExpiry, client, message, ctx, Date.now());
  if (expiry.error !== undefined) return fail(expiry.error);

  // A logged-in session is bound to the browser that handshook: lane polls prove that browser instead of a user.
  let browser = request.userKey === undefined ? undefined : request.browser;
  if (browser === undefined && request.userKey !== undefined && request.canSetCookie) browser = server.clientIds.next();
  let session: Session<User>;
  try {
    session = await server.engine.createSession({
      ...client,
      userKey: request.userKey,
      ack: server.options.ack && message.ext?.ack === true,
      browser,
      expiresAt: expiry.expiresAt,
    });
  } catch (err) {
    if (!(err instanceof SessionLimitError)) throw err;
    server.logger.warn({ ip: ctx.ip }, `express-bayeux: handshake refused: ${err.message}`);
    reply.error = bayeuxError('tooManySessions');
    reply.advice = handshakeAdvice(jittered(FULL_RETRY_INTERVAL));
    return reply;
  }
  request.remember(session.id, session);
  if (browser !== undefined && browser !== request.browser) request.issuedBrowser = browser;
  reply.clientId = session.id;
  reply.successful = true;
  reply.advice = server.advice();
  if (session.ack !== undefined) reply.ext = { ...reply.ext, ack: true };
  // Salesforce's replay convention: replay clients only send positions to a server that says it keeps them.
  if (server.history !== undefined) reply.ext = { ...reply.ext, replay: true };
  server.logger.debug({ clientId: session.id, ip: session.ip, transport: ctx.transport }, 'express-bayeux: handshake');
  server.announcements.add({
    clientId: session.id,
    ip: session.ip,
    user: ctx.user,
    data: session.data,
    transport: request.ctx.transport,
  });
  return reply;
}
