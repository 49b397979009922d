// @ts-check
// The smallest useful host app: Bayeux at /cometd with a /service/echo service.
// Run with `npm start`; PORT (default 8080) and HOST (default 127.0.0.1) choose the address.
import express from 'express';
import { bayeux } from 'express-bayeux';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';

const app = express();
const server = bayeux({
  services: {
    // Replies to the sender only, with the data it sent.
    echo: (message) => message.data,
  },
});
app.use('/cometd', server);
app.get('/', (_req, res) => {
  res.type('text').send('express-bayeux: Bayeux endpoint at /cometd (long-polling, callback-polling)\n');
});

const http = app.listen(port, host, () => {
  console.log(`express-bayeux example on http://${host}:${port}/ (Bayeux at /cometd)`);
});

/** @param {string} signal */
function shutdown(signal) {
  console.log(`${signal}: closing the Bayeux server, then the HTTP server`);
  server.close().then(() => http.close(() => process.exit(0)));
}
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
