// @ts-check
// The chat demo as a host app would write it: its own static files, its own
// login (express-session + passport-local), and Bayeux mounted at /cometd with
// an ACL that lets anyone read and only logged-in users post.
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { bayeux } from 'express-bayeux';
import session from 'express-session';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { checkPassword, findUser } from './users.js';

const here = dirname(fileURLToPath(import.meta.url));
const CHAT = '/chat/demo';
const PRESENCE = '/chat/presence';
const AUTOBOT = 'autobot';

/**
 * Cache headers per file type (the seed server's TypeExpires), set by
 * serve-static's `setHeaders`, which is also where its PostHandle hook went.
 *
 * | seed option      | here                                                   |
 * | ---------------- | ------------------------------------------------------ |
 * | DocumentRoot     | `express.static(join(here, 'public'))` (serve-static)  |
 * | DirectoryIndex   | serve-static's `index: 'index.html'`                   |
 * | TypeExpires      | `CACHE_SECONDS` below, applied in `setHeaders`         |
 * | PostHandle       | `setHeaders(res, path)`: any per-file header tweak     |
 *
 * @type {Record<string, number>}
 */
const CACHE_SECONDS = { '.html': 0, '.css': 3600, '.js': 3600, '.map': 3600, '.png': 86400, '.svg': 86400 };

/** @param {import('node:http').ServerResponse} res @param {string} path */
function setHeaders(res, path) {
  const ext = path.slice(path.lastIndexOf('.'));
  const seconds = CACHE_SECONDS[ext] ?? 0;
  res.setHeader('Cache-Control', seconds === 0 ? 'no-cache' : `public, max-age=${seconds}`);
  res.setHeader('X-Content-Type-Options', 'nosniff');
}

/** @typedef {import('./users.js').User} User */

/**
 * @param {{
 *   engine?: import('express-bayeux').Engine,
 *   logger?: import('express-bayeux').Logger | false,
 *   sessionSecret?: string,
 *   sessionStore?: import('express-session').Store,
 *   timeout?: number,
 * }} [options]
 */
export function createChatApp(options = {}) {
  const app = express();
  const sessions = session({
    secret: options.sessionSecret ?? process.env.SESSION_SECRET ?? randomBytes(32).toString('hex'),
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax' },
    ...(options.sessionStore === undefined ? {} : { store: options.sessionStore }),
  });
  passport.use(
    new LocalStrategy((username, password, done) => {
      done(null, checkPassword(username, password) ?? false);
    }),
  );
  passport.serializeUser((user, done) => done(null, /** @type {User} */ (user).id));
  passport.deserializeUser((/** @type {string} */ id, done) => done(null, findUser(id) ?? false));

  /** @type {import('express-bayeux').BayeuxServer<User>} */
  const server = bayeux({
    ...(options.engine === undefined ? {} : { engine: options.engine }),
    // The room keeps its last 200 messages for an hour: a page that was away resumes where it was.
    history: { channels: [CHAT], size: 200, ttl: 60 * 60 * 1000 },
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    // How long a /meta/connect is held: shorter than any proxy's read timeout in front.
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
    messageACL(client, message, ctx) {
      switch (message.channel) {
        case '/meta/handshake': {
          // Logged-in users chat under their login; guests under the name they chose (read-only).
          const chosen = String(message.ext?.name ?? '')
            .replace(/[^\p{L}\p{N} _.-]/gu, '')
            .slice(0, 24)
            .trim();
          if (client) client.data.name = ctx.user ? ctx.user.username : `${chosen || 'guest'} (guest)`;
          return true;
        }
        case '/meta/subscribe':
          return String(message.subscription ?? '').startsWith('/chat/') || 'Only /chat channels here';
        case CHAT:
          return ctx.user !== undefined || 'Log in to post';
        case '/service/echo':
        case '/service/who':
          return true;
        default:
          return 'Not allowed';
      }
    },
    extensions: [
      {
        // Stamp who posted and when on the server: clients cannot forge either.
        incoming(message, ctx) {
          if (message.channel !== CHAT || ctx.client === undefined) return;
          const data = /** @type {{ text?: unknown }} */ (message.data ?? {});
          message.data = { user: ctx.client.user?.username, text: String(data.text ?? '').slice(0, 1000), time: Date.now() };
        },
      },
    ],
    services: {
      echo: (message) => message.data,
      who: () => online(),
    },
  });

  /** Who is in the room: the names of the subscribers of the chat channel, on every node. */
  async function online() {
    const present = await server.presence(CHAT);
    return [...new Set(present.map((entry) => String(entry.data.name ?? 'guest')))].sort();
  }
  /** @param {{ channel: string }} event */
  async function announce(event) {
    if (event.channel === CHAT) await server.publish(PRESENCE, { online: await online() });
  }
  server.on('join', announce);
  server.on('leave', announce);

  // The Autobot from the seed's synopsis: a local client that answers every post, never itself.
  server.subscribe(CHAT, (message) => {
    if (message.clientId === AUTOBOT) return;
    const data = /** @type {{ user?: string }} */ (message.data);
    void server.publish(
      CHAT,
      { user: 'Autobot', text: `I got your message, ${data.user ?? 'stranger'}`, time: Date.now() },
      { clientId: AUTOBOT },
    );
  });

  app.use(sessions, passport.session());
  // WebSocket upgrades see the same login.
  server.useOnUpgrade(sessions, passport.session());

  app.post('/login', express.urlencoded({ extended: false }), express.json(), (req, res, next) => {
    passport.authenticate('local', (/** @type {unknown} */ err, /** @type {User | false} */ user) => {
      if (err) return next(err);
      if (!user) return res.status(401).json({ error: 'Wrong name or password' });
      req.logIn(user, (loginError) => (loginError ? next(loginError) : res.json({ username: user.username })));
    })(req, res, next);
  });
  app.post('/logout', async (req, res, next) => {
    // Signing out ends the user's Bayeux sessions too, on every node; their clients handshake again as guests.
    const user = /** @type {User | undefined} */ (req.user);
    try {
      if (user) await server.disconnectUser(user);
    } catch (err) {
      return next(err);
    }
    req.logOut((err) => (err ? next(err) : res.json({ ok: true })));
  });
  app.get('/me', (req, res) => {
    const user = /** @type {User | undefined} */ (req.user);
    res.json(user ? { username: user.username } : {});
  });
  // The load balancer's health check: 503 while the node starts, drains or has lost Redis.
  app.get('/healthz', (_req, res) => {
    const health = server.health();
    res.status(health.ok ? 200 : 503).json(health);
  });
  // Prometheus scrapes this (prom-client is an optional dependency of express-bayeux).
  const metrics = server.metrics();
  metrics.catch(() => {});
  app.get('/metrics', async (_req, res, next) => {
    try {
      const registry = await metrics;
      res.type(registry.contentType).send(await registry.metrics());
    } catch (err) {
      next(err);
    }
  });
  app.use('/cometd', server);
  app.use(express.static(join(here, 'public'), { index: 'index.html', setHeaders }));
  // The bundled client (npm run build writes it).
  app.use(express.static(join(here, '../dist/browser'), { index: false, setHeaders }));

  return { app, server };
}
