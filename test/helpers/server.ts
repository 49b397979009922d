/** Starts a real Express app with a Bayeux server on 127.0.0.1, port 0. */

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import { type BayeuxOptions, type BayeuxServer, bayeux } from '../../lib/index.js';
import { realClearTimeout, realNow, realSetTimeout, WAIT_MS } from './real-time.js';

export interface TestServer<User = unknown> {
  app: Express;
  bayeux: BayeuxServer<User>;
  http: Server;
  /** The endpoint URL, e.g. http://127.0.0.1:1234/cometd */
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Runs before the Bayeux server is mounted: host middleware (auth, body parsers, trust proxy). */
  before?: (app: Express) => void;
  /** Mount path; default /cometd. */
  path?: string;
  /** Port to listen on (default 0: any free port). */
  port?: number;
  /** Take WebSocket upgrades too (`server.attach(http)`). */
  websocket?: boolean;
}

export async function startServer<User = unknown>(options: BayeuxOptions<User> = {}, start: StartOptions = {}): Promise<TestServer<User>> {
  const app = express();
  start.before?.(app);
  const server = bayeux<User>({ logger: false, ...options });
  const path = start.path ?? '/cometd';
  app.use(path, server);
  const http = createServer(app);
  if (start.websocket) server.attach(http, { app });
  await new Promise<void>((resolve) => http.listen(start.port ?? 0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  await server.ready;
  return {
    app,
    bayeux: server,
    http,
    port,
    url: `http://127.0.0.1:${port}${path}`,
    // Idempotent, so a test may close early and still close again in `finally`.
    close() {
      closing ??= (async () => {
        try {
          await server.close();
        } finally {
          http.closeAllConnections();
          await new Promise<void>((resolve) => http.close(() => resolve()));
        }
      })();
      return closing;
    },
  };
}

/**
 * Resolves once `check` returns true, testing it every `every` ms (not on
 * every event-loop turn: a busy spin starves the server it waits on under
 * load); rejects after `ms` so a broken test fails instead of hanging.
 */
export async function until(check: () => boolean | Promise<boolean>, what = 'condition', ms = WAIT_MS, every = 10): Promise<void> {
  const deadline = realNow() + ms;
  while (!(await check())) {
    if (realNow() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => realSetTimeout(resolve, every));
  }
}

/** Settles like `promise`, or rejects after `ms`: a lost callback fails its test at once instead of at the runner's timeout. */
export function bounded<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = realSetTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => realClearTimeout(timer));
}

/** Calls `run` with a callback and resolves with what it is called with; rejects after `ms`. */
export function callback<T>(run: (done: (value: T) => void) => void, what: string, ms = WAIT_MS): Promise<T> {
  return bounded(new Promise<T>((resolve) => run(resolve)), what, ms);
}

/** Runs `run` against a fresh server and closes it afterwards, whatever happens. */
export async function withServer<User = unknown>(
  options: BayeuxOptions<User>,
  run: (server: TestServer<User>) => Promise<void>,
  start: StartOptions = {},
): Promise<void> {
  const server = await startServer<User>(options, start);
  try {
    await run(server);
  } finally {
    await server.close();
  }
}
