/**
 * /meta/handshake (Bayeux 1.0 §4.1).
 * Request MUST: channel, version, supportedConnectionTypes. MAY: minimumVersion, ext, id.
 * Reply MUST: channel, version, supportedConnectionTypes, clientId, successful.
 * Reply MAY: minimumVersion, advice, ext, id, authSuccessful; error when unsuccessful.
 */
import { SessionLimitError } from '../../engines/engine.js';
import type { ClientInfo, Session } from '../../engines/session.js';
import type { ConnectionType, MessageContext } from '../../options.js';
import { BAYEUX_VERSION, handshakeAdvice, noneAdvice } from '../../protocol/advice.js';
import { bayeuxError } from '../../protocol/errors.js';
import { type Message, replyTo } from '../../protocol/message.js';
import type { ServerCore } from '../core.js';
import { sessionExpiry } from '../expiry.js';
import { authorize } from '../extensions.js';
import type { RequestState } from '../request.js';

/** Seconds-scale pause advised when the server is full, so refused clients do not hammer it. */
const FULL_RETRY_INTERVAL = 5000;

export async function handshake<User>(
  core: ServerCore<User>,
  message: Message,
  request: RequestState<User>,
  ctx: MessageContext<User>,
): Promise<Message> {
  const reply = replyTo(message, false);
  reply.version = BAYEUX_VERSION;
  reply.supportedConnectionTypes = core.connectionTypes();
  // Failures a retry cannot fix are answered with reconnect "none": no retry storm.
  const fail = (error: string): Message => {
    reply.error = error;
    reply.advice = noneAdvice();
    return reply;
  };

  const version = message.version;
  if (typeof version !== 'string') return fail(bayeuxError('missingParameter', 'version'));
  if (!/^1(\.|$)/.test(version)) return fail(bayeuxError('versionMismatch', version));
  const offered = message.supportedConnectionTypes;
  if (!Array.isArray(offered) || offered.length === 0 || !offered.every((t) => typeof t === 'string')) {
    return fail(bayeuxError('missingParameter', 'supportedConnectionTypes'));
  }
  if (!offered.some((t) => core.supports(t))) {
    // A websocket-only client and a server that was never attached: name the fix, not just the code.
    const unattached = offered.includes('websocket') && !core.supports('websocket');
    if (unattached) {
      core.logger.warn(
        { ip: ctx.ip },
        'express-bayeux: a client asked for WebSocket only, but server.attach(httpServer) was never called; it is refused',
      );
    }
    const hint = unattached
      ? 'Connection types not supported (websocket is offered once the server calls server.attach(httpServer))'
      : undefined;
    return fail(bayeuxError('connectionTypeMismatch', offered.join(','), hint));
  }

  const client: ClientInfo<User> = {
    id: core.clientIds.next(),
    user: ctx.user,
    ip: ctx.ip,
    transport: ctx.transport,
    data: {},
  };
  const refused = await authorize(core.options.messageACL, message, { ...ctx, client }, 'handshakeDenied', '');
  if (refused !== undefined) return fail(refused);
  // Credentials that already expired cannot get better by retrying: refused with reconnect "none".
  const expiry = await sessionExpiry(core.options.sessionExpiry, client, message, ctx, Date.now());
  if (expiry.error !== undefined) return fail(expiry.error);

  // A logged-in session is bound to the browser that handshook: lane polls prove that browser instead of a user.
  let browser = request.userKey === undefined ? undefined : request.browser;
  if (browser === undefined && request.userKey !== undefined && request.canSetCookie) browser = core.clientIds.next();
  let session: Session;
  try {
    session = await core.engine.createSession({
      ...client,
      userKey: request.userKey,
      ack: core.options.ack && message.ext?.ack === true,
      browser,
      expiresAt: expiry.expiresAt,
    });
  } catch (err) {
    if (!(err instanceof SessionLimitError)) throw err;
    core.logger.warn({ ip: ctx.ip }, `express-bayeux: handshake refused: ${err.message}`);
    reply.error = bayeuxError('tooManySessions');
    reply.advice = handshakeAdvice(FULL_RETRY_INTERVAL);
    return reply;
  }
  request.remember(session.id, session);
  if (browser !== undefined && browser !== request.browser) request.issuedBrowser = browser;
  reply.clientId = session.id;
  reply.successful = true;
  reply.advice = core.advice();
  if (session.ack !== undefined) reply.ext = { ...reply.ext, ack: true };
  // Salesforce's replay convention: replay clients only send positions to a server that says it keeps them.
  if (core.history !== undefined) reply.ext = { ...reply.ext, replay: true };
  core.logger.debug({ clientId: session.id, ip: session.ip, transport: ctx.transport }, 'express-bayeux: handshake');
  core.announce({
    clientId: session.id,
    ip: session.ip,
    user: ctx.user,
    data: session.data,
    transport: ctx.transport as ConnectionType,
  });
  return reply;
}
