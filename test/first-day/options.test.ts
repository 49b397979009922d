/**
 * The options a new user gets wrong on day one (issue 12, items 6 and 10):
 * a typo, Faye's seconds, and what the logs say while finding out.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { type BayeuxOptions, bayeux, type Logger } from '../../lib/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { startServer } from '../helpers/server.js';

/** A logger that keeps every line, by level. */
function capture(): Logger & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (obj: object | string, msg?: string) => {
    lines.push({ level, msg: typeof obj === 'string' ? obj : (msg ?? '') });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('option mistakes', () => {
  it('suggests the option meant when a name is misspelt', () => {
    assert.throws(() => bayeux({ timout: 30_000 } as BayeuxOptions), {
      name: 'TypeError',
      message: 'bayeux(): unknown option "timout"; did you mean "timeout"?',
    });
    assert.throws(() => bayeux({ maxinterval: 30_000 } as BayeuxOptions), /did you mean "maxInterval"\?/);
    assert.throws(() => bayeux({ websocket: { pingIntervall: 1000 } } as BayeuxOptions), {
      message: 'bayeux(): unknown option "websocket.pingIntervall"; did you mean "websocket.pingInterval"?',
    });
    // Nothing close: no guess.
    assert.throws(() => bayeux({ port: 8080 } as BayeuxOptions), { message: 'bayeux(): unknown option "port"' });
  });

  it("warns, naming the fix, when a duration looks like Faye's seconds", async () => {
    const logger = capture();
    const server = bayeux({ timeout: 45, maxInterval: 60, logger });
    try {
      const warnings = logger.lines.filter((l) => l.level === 'warn').map((l) => l.msg);
      assert.deepEqual(warnings, [
        'express-bayeux: option "timeout" is 45 ms; durations are milliseconds (Faye counts seconds): did you mean 45000?',
        'express-bayeux: option "maxInterval" is 60 ms; durations are milliseconds (Faye counts seconds): did you mean 60000?',
      ]);
    } finally {
      await server.close();
    }
    const quiet = capture();
    await bayeux({ timeout: 45_000, interval: 0, maxInterval: 60_000, logger: quiet }).close();
    assert.deepEqual(quiet.lines, []);
  });

  it('names the package once per console line', async () => {
    const printed: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => {
      printed.push(String(args[0]));
    };
    try {
      await bayeux({ timeout: 45 }).close();
    } finally {
      console.error = original;
    }
    assert.equal(printed.length, 1);
    assert.match(printed[0] as string, /^express-bayeux warn: option "timeout" is 45 ms/);
    assert.equal((printed[0] as string).split('express-bayeux').length - 1, 1);
  });

  it('logs the session life cycle at debug level: handshake, subscribe, end with its reason', async (t) => {
    const logger = capture();
    const server = await startServer({ logger });
    t.after(() => server.close());
    const client = new RawClient(server.url);
    await client.handshake();
    await client.subscribe('/life/cycle');
    await client.disconnect();
    const debug = logger.lines.filter((l) => l.level === 'debug').map((l) => l.msg);
    assert.deepEqual(debug, ['express-bayeux: handshake', 'express-bayeux: subscribe', 'express-bayeux: session ended (client)']);
  });

  it('prints the life cycle with DEBUG=express-bayeux* when no logger is given', async () => {
    const script = `
      import { bayeux } from './dist/esm/index.js';
      import { createServer } from 'node:http';
      const server = bayeux();
      const http = createServer(server).listen(0, '127.0.0.1', async () => {
        const url = 'http://127.0.0.1:' + http.address().port + '/';
        await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }) });
        await server.close();
        http.close();
      });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: new URL('../..', import.meta.url),
      env: { ...process.env, DEBUG: 'express-bayeux*', DEBUG_COLORS: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = await once(child, 'exit');
    assert.equal(code, 0, stderr);
    assert.match(stderr, /express-bayeux handshake/);
    assert.match(stderr, /express-bayeux session ended \(closed\)/);
  });
});
