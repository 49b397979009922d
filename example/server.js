// @ts-check
// `npm start`: the chat demo on http://HOST:PORT/ (defaults 127.0.0.1:8080).
// With REDIS_URL set, sessions and messages go through Redis, so several
// processes (npm run example:cluster) act as one server.
import { createChatApp } from './app.js';
import { engineFromEnv } from './engine.js';
import { RedisSessionStore } from './session-store.js';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';

// Several processes share logins through Redis; one process keeps them in memory.
const sessionStore = process.env.REDIS_URL ? new RedisSessionStore(process.env.REDIS_URL, 'chat-demo:login:') : undefined;
const { app, server } = createChatApp({ engine: await engineFromEnv(), ...(sessionStore ? { sessionStore } : {}) });
const http = app.listen(port, host, () => {
  console.log(`express-bayeux chat demo on http://${host}:${port}/ (engine: ${server.engine.name}, pid ${process.pid})`);
});
server.attach(http);

/**
 * SIGTERM on the Redis engine (a deploy): drain first, so this node's sessions
 * move to the other nodes with what is queued for them. Otherwise (Ctrl+C, or
 * one process whose sessions have nowhere to go): close at once.
 * @param {string} signal
 */
function shutdown(signal) {
  const drain = signal === 'SIGTERM' && server.engine.name === 'redis';
  console.log(`${signal}: ${drain ? 'draining' : 'closing'} the Bayeux server, then the HTTP server`);
  const done = drain ? server.drain({ timeout: 10_000 }) : server.close();
  done
    .then(() =>
      http.close(() => {
        sessionStore?.close();
        process.exit(0);
      }),
    )
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
  http.closeIdleConnections();
}
process.once('SIGINT', () => shutdown('SIGINT'));
process.once('SIGTERM', () => shutdown('SIGTERM'));
