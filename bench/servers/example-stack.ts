/**
 * express-bayeux behind the example app's own stack, for the "realistic"
 * cell: express-session (memory store) and passport.session() mounted
 * app-wide, the same passport-local login route and users, then the Bayeux
 * server. Subscribers log in before they handshake, so every request that
 * enters Express reads the session store and deserializes the user.
 * LANE=0 turns the poll lane off (every poll goes through that stack).
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
// The built package and the example's own user list, as a user runs them.
import { bayeux } from 'express-bayeux';
import session from 'express-session';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { checkPassword, findUser } from '../../example/users.js';
import { profileOnSignal } from './profile.js';

profileOnSignal('express-bayeux-app-stack');

type User = { id: string; username: string };

const app = express();
app.use(
  session({
    secret: randomBytes(32).toString('hex'),
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax' },
  }),
);
passport.use(new LocalStrategy((username, password, done) => done(null, checkPassword(username, password) ?? false)));
passport.serializeUser((user, done) => done(null, (user as User).id));
passport.deserializeUser((id: string, done) => done(null, findUser(id) ?? false));
app.use(passport.session());
app.post('/login', express.json(), (req, res, next) => {
  passport.authenticate('local', (err: unknown, user: User | false) => {
    if (err) return next(err);
    if (!user) return res.status(401).json({ error: 'Wrong name or password' });
    req.logIn(user, (loginError) => (loginError ? next(loginError) : res.json({ username: user.username })));
  })(req, res, next);
});

// All load comes from 127.0.0.1: per-IP caps are raised, as in ours.ts.
const server = bayeux<User>({
  logger: false,
  clientMaxConnections: 1_000_000,
  maxSessionsPerIp: 1_000_000,
  maxSessions: 1_000_000,
  timeout: 25_000,
  // Every simulated client comes from 127.0.0.1: per-IP limits are lifted, per-session ones stay.
  rateLimit: { ip: false },
  // The handshake cell measures how many a node takes behind this stack: the admission pace would cap it.
  handshakeRate: false,
});
app.use('/cometd', server);
const http = createServer(app);
server.attach(http, { app, lane: process.env.LANE !== '0' });
http.listen(0, '127.0.0.1', async () => {
  await server.ready;
  const info = { port: (http.address() as AddressInfo).port, path: '/cometd', websocket: true, login: '/login' };
  process.stdout.write(`${JSON.stringify(info)}\n`);
});

// Exit cleanly on SIGTERM so --cpu-prof (BENCH_NODE_ARGS) writes its profile.
process.on('SIGTERM', () => process.exit(0));
