import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BayeuxOptions, bayeux } from '../lib/index.js';
import { DEFAULTS, WEBSOCKET_DEFAULTS } from '../lib/server/options/defaults.js';
import { resolveOptions } from '../lib/server/options/resolve.js';

describe('options', () => {
  it('default to the documented values', () => {
    const o = resolveOptions({ logger: false });
    assert.deepEqual(
      {
        timeout: o.timeout,
        interval: o.interval,
        maxInterval: o.maxInterval,
        clientMaxConnections: o.clientMaxConnections,
        maxBodySize: o.maxBodySize,
        maxMessagesPerRequest: o.maxMessagesPerRequest,
        maxQueue: o.maxQueue,
        queuePolicy: o.queuePolicy,
        maxSessions: o.maxSessions,
        maxSessionsPerIp: o.maxSessionsPerIp,
        anonPublish: o.anonPublish,
        callbackPolling: o.callbackPolling,
        ack: o.ack,
        closeTimeout: o.closeTimeout,
      },
      { ...DEFAULTS },
    );
    assert.deepEqual(DEFAULTS, {
      timeout: 30000,
      interval: 0,
      maxInterval: 30000,
      clientMaxConnections: 100,
      maxBodySize: 1048576,
      maxMessagesPerRequest: 256,
      maxQueue: 1000,
      queuePolicy: 'disconnect',
      maxSessions: 100000,
      maxSessionsPerIp: 1000,
      anonPublish: false,
      callbackPolling: true,
      ack: false,
      closeTimeout: 5000,
    });
    assert.equal(o.websocket.path, WEBSOCKET_DEFAULTS.path);
    assert.equal(o.websocket.maxPayload, o.maxBodySize);
    assert.equal(o.websocket.pingInterval, 25000);
    assert.equal(o.cors, undefined);
    assert.equal(o.engine.name, 'memory');
  });

  const bad: [string, unknown][] = [
    ['timeout', -1],
    ['timeout', '30s'],
    ['interval', 1.5],
    ['maxInterval', 0],
    ['clientMaxConnections', 0],
    ['maxBodySize', 10],
    ['maxMessagesPerRequest', null],
    ['maxQueue', 0],
    ['queuePolicy', 'drop-newest'],
    ['maxSessions', Number.NaN],
    ['maxSessionsPerIp', -5],
    ['anonPublish', 'yes'],
    ['callbackPolling', 1],
    ['ack', 'yes'],
    ['services', []],
    ['services', { echo: 'not a function' }],
    ['services', { 'bad name!?': () => 1 }],
    ['messageACL', true],
    ['extensions', {}],
    ['extensions', [{ incoming: 5 }]],
    ['engine', { name: 'fake' }],
    ['logger', console.log],
    ['cors', 'https://a.example'],
    ['cors', { origin: 5 }],
    ['identify', 'id'],
    ['websocket', true],
    ['websocket', { path: 'cometd' }],
    ['websocket', { pingInterval: -1 }],
    ['websocket', { protocols: ['bad protocol'] }],
    ['websocket', { handshake: 'yes' }],
    ['websocket', { origins: 5 }],
    ['websocket', { unknown: 1 }],
    ['unknownOption', 1],
  ];
  for (const [name, value] of bad) {
    it(`refuses ${name} = ${JSON.stringify(value) ?? String(value)} with a TypeError naming it`, () => {
      assert.throws(
        () => bayeux({ logger: false, [name]: value } as BayeuxOptions),
        (error: Error) => {
          assert.ok(error instanceof TypeError);
          assert.match(error.message, new RegExp(`"${name}`));
          return true;
        },
      );
    });
  }

  it('accepts every option at once', () => {
    const server = bayeux({
      timeout: 1000,
      interval: 10,
      maxInterval: 5000,
      clientMaxConnections: 5,
      maxBodySize: 2048,
      maxMessagesPerRequest: 10,
      maxQueue: 50,
      queuePolicy: 'drop-oldest',
      maxSessions: 10,
      maxSessionsPerIp: 2,
      anonPublish: true,
      callbackPolling: false,
      services: { echo: (m) => m.data, _handler: () => undefined },
      messageACL: () => true,
      extensions: [{ incoming() {}, outgoing() {} }],
      logger: false,
      cors: { origin: [/\.example$/, 'https://a.example'], credentials: true, maxAge: 60 },
      identify: (user) => String(user),
      websocket: {
        path: '/ws',
        maxPayload: 1024,
        pingInterval: 0,
        maxBufferedBytes: 4096,
        origins: ['https://a.example'],
        protocols: ['bayeux'],
        maxInvalidFrames: 1,
      },
    });
    assert.equal(typeof server, 'function');
    return server.close();
  });
});
