import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { format } from 'node:util';
import createDebug from 'debug';
import { type BayeuxOptions, bayeux, memoryEngine } from '../lib/index.js';
import { defaultLogger } from '../lib/server/options/default-logger.js';
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

describe('option errors', () => {
  const f = () => 1;
  const engineWithout = (missing: string) =>
    Object.fromEntries(
      ['open', 'close', 'createSession', 'session', 'claim', 'destroySession', 'destroyUserSessions', 'subscribe', 'unsubscribe']
        .concat(['presence', 'publish', 'push', 'countSessions', 'takeTokens'])
        .filter((m) => m !== missing)
        .map((m) => [m, f]),
    );
  const must = (name: string, expected: string, got: string) => `bayeux(): option "${name}" must be ${expected}, got ${got}`;
  const ORIGIN_RULE = 'a string, RegExp, array of them, or function';
  const SERVICE_NAME = 'named by channel segments (the name after /service/)';
  const ENGINE = 'an Engine (e.g. memoryEngine() or redisEngine())';
  const LOGGER = 'false or a logger with debug/info/warn/error (e.g. pino)';
  // Each message is what a user reads: the option's full name, what it takes, and what it got.
  const cases: [string, unknown, string][] = [
    ['not an object', 5, must('options', 'an object', '5')],
    ['a negative timeout', { timeout: -1 }, must('timeout', 'an integer >= 0', '-1')],
    ['NaN shown as NaN', { maxSessions: Number.NaN }, must('maxSessions', 'an integer >= 1', 'NaN')],
    ['a bigint, which JSON cannot show', { timeout: 10n }, must('timeout', 'an integer >= 0', '10')],
    ['a typo, two letters swapped', { timeuot: 1 }, 'bayeux(): unknown option "timeuot"; did you mean "timeout"?'],
    ['a name far from any option', { unknownOption: 1 }, 'bayeux(): unknown option "unknownOption"'],
    ['queuePolicy', { queuePolicy: 'drop-newest' }, must('queuePolicy', '"disconnect" or "drop-oldest"', '"drop-newest"')],
    ['services as an array', { services: [] }, must('services', 'an object mapping names to functions', '[]')],
    ['services as null', { services: null }, must('services', 'an object mapping names to functions', 'null')],
    ['services as a string', { services: 'echo' }, must('services', 'an object mapping names to functions', '"echo"')],
    ['a service that is no function', { services: { echo: 'x' } }, must('services.echo', 'a function', '"x"')],
    ['a service name with a space', { services: { 'bad name': f } }, must('services.bad name', SERVICE_NAME, '"bad name"')],
    ['a service name with an empty segment', { services: { 'a//b': f } }, must('services.a//b', SERVICE_NAME, '"a//b"')],
    ['a service name with a leading slash', { services: { '/a': f } }, must('services./a', SERVICE_NAME, '"/a"')],
    ['extensions as an object', { extensions: {} }, must('extensions', 'an array', '{}')],
    ['an extension that is a number', { extensions: [5] }, must('extensions[0]', 'an object', '5')],
    ['an extension that is null', { extensions: [null] }, must('extensions[0]', 'an object', 'null')],
    ['an incoming hook that is no function', { extensions: [{ incoming: 5 }] }, must('extensions[0].incoming', 'a function', '5')],
    ['the second extension', { extensions: [{}, { outgoing: 'x' }] }, must('extensions[1].outgoing', 'a function', '"x"')],
    [
      'an engine factory not called',
      { engine: f },
      must('engine', 'an Engine: call the factory (engine: redisEngine({ url }))', 'a function'),
    ],
    ['an engine that is a number', { engine: 5 }, must('engine', ENGINE, '5')],
    [
      'an engine lacking one method',
      { engine: engineWithout('takeTokens') },
      must('engine', `${ENGINE}; it has no takeTokens method`, '{}'),
    ],
    ['an engine lacking another', { engine: engineWithout('open') }, must('engine', `${ENGINE}; it has no open method`, '{}')],
    ['rateLimit true', { rateLimit: true }, must('rateLimit', 'false or { session?, ip? }', 'true')],
    ['rateLimit as an array', { rateLimit: [] }, must('rateLimit', 'false or { session?, ip? }', '[]')],
    ['a misspelled rate limit', { rateLimit: { sessions: {} } }, 'bayeux(): unknown option "rateLimit.sessions"'],
    ['a rate limit that is a number', { rateLimit: { ip: 5 } }, must('rateLimit.ip', 'false or { rate, burst }', '5')],
    [
      'a rate as a string',
      { rateLimit: { session: { rate: '1' } } },
      must('rateLimit.session.rate', 'a positive number of messages per second', '"1"'),
    ],
    [
      'an infinite rate',
      { rateLimit: { session: { rate: Number.POSITIVE_INFINITY } } },
      must('rateLimit.session.rate', 'a positive number of messages per second', 'Infinity'),
    ],
    [
      'a zero rate',
      { rateLimit: { session: { rate: 0 } } },
      must('rateLimit.session.rate', 'a positive number of messages per second', '0'),
    ],
    ['a zero burst', { rateLimit: { ip: { rate: 5, burst: 0 } } }, must('rateLimit.ip.burst', 'an integer >= 1', '0')],
    ['console.log as the logger', { logger: console.log }, must('logger', LOGGER, 'a function')],
    ['a logger without error', { logger: { debug: f, info: f, warn: f } }, must('logger', `${LOGGER}; it has no error method`, '{}')],
    ['a logger with two missing', { logger: { debug: f, info: f } }, must('logger', `${LOGGER}; it has no warn, error methods`, '{}')],
    ['logger true', { logger: true }, must('logger', LOGGER, 'true')],
    ['cors as a string', { cors: 'x' }, must('cors', 'false or { origin, credentials?, maxAge? }', '"x"')],
    ['cors true', { cors: true }, must('cors', 'false or { origin, credentials?, maxAge? }', 'true')],
    ['a numeric origin', { cors: { origin: 5 } }, must('cors.origin', ORIGIN_RULE, '5')],
    ['an origin list with a number', { cors: { origin: ['a', 5] } }, must('cors.origin', ORIGIN_RULE, '["a",5]')],
    [
      'origin * with credentials by default',
      { cors: { origin: '*' } },
      must('cors.origin', 'a list of origins when credentials are allowed (use credentials: false with "*")', '"*"'),
    ],
    ['websocket true', { websocket: true }, must('websocket', 'an object', 'true')],
    ['websocket as an array', { websocket: [] }, must('websocket', 'an object', '[]')],
    ['a relative websocket path', { websocket: { path: 'cometd' } }, must('websocket.path', 'a path starting with "/"', '"cometd"')],
    ['a numeric websocket path', { websocket: { path: 5 } }, must('websocket.path', 'a path starting with "/"', '5')],
    ['numeric websocket origins', { websocket: { origins: 5 } }, must('websocket.origins', ORIGIN_RULE, '5')],
    [
      'a subprotocol with a space',
      { websocket: { protocols: ['bad protocol'] } },
      must('websocket.protocols', 'an array of subprotocol tokens', '["bad protocol"]'),
    ],
    [
      'subprotocols as a string',
      { websocket: { protocols: 'bayeux' } },
      must('websocket.protocols', 'an array of subprotocol tokens', '"bayeux"'),
    ],
    ['a numeric subprotocol', { websocket: { protocols: [5] } }, must('websocket.protocols', 'an array of subprotocol tokens', '[5]')],
    [
      'a misspelled websocket option',
      { websocket: { pathh: '/x' } },
      'bayeux(): unknown option "websocket.pathh"; did you mean "websocket.path"?',
    ],
    ['a websocket handshake that is no function', { websocket: { handshake: 'yes' } }, must('websocket.handshake', 'a function', '"yes"')],
    ['history true', { history: true }, must('history', 'false or { channels, size?, ttl?, salesforce? }', 'true')],
    ['history.salesforce', { history: { channels: ['/a'], salesforce: 'yes' } }, must('history.salesforce', 'a boolean', '"yes"')],
    ['history.size', { history: { channels: ['/a'], size: 0 } }, must('history.size', 'an integer >= 1', '0')],
    [
      'a ttl in seconds',
      { history: { channels: ['/a'], ttl: 60 } },
      must('history.ttl', 'milliseconds (>= 1000; e.g. 60000 for a minute, not 60)', '60'),
    ],
    ['no history channels', { history: { channels: [] } }, must('history.channels', 'a non-empty array of channel patterns', '[]')],
    [
      'a /meta history channel',
      { history: { channels: ['/meta/x'] } },
      must('history.channels', 'broadcast channel patterns such as "/chat/*" (not /meta or /service)', '"/meta/x"'),
    ],
    ['an unknown history option', { history: { channels: ['/a'], extra: 1 } }, 'bayeux(): unknown option "history.extra"'],
    ['messageACL true', { messageACL: true }, must('messageACL', 'a function', 'true')],
    ['identify as a string', { identify: 'id' }, must('identify', 'a function', '"id"')],
    ['anonPublish as a string', { anonPublish: 'yes' }, must('anonPublish', 'a boolean', '"yes"')],
  ];
  for (const [title, options, message] of cases) {
    it(`names the option, what it takes and what it got: ${title}`, () => {
      const given = typeof options === 'object' ? { logger: false, ...options } : options;
      assert.throws(() => resolveOptions(given as BayeuxOptions), { name: 'TypeError', message });
    });
  }
});

describe('accepted option values', () => {
  it('rateLimit false turns both limits off; a rate alone gets a burst of its ceiling', () => {
    assert.deepEqual(resolveOptions({ logger: false, rateLimit: false }).rateLimit, { session: undefined, ip: undefined });
    assert.deepEqual(resolveOptions({ logger: false, rateLimit: { session: { rate: 2.5 }, ip: false } }).rateLimit, {
      session: { rate: 2.5, burst: 3 },
      ip: undefined,
    });
    assert.deepEqual(resolveOptions({ logger: false, rateLimit: { session: { rate: 0.2 } } }).rateLimit.session, { rate: 0.2, burst: 1 });
  });

  it('cors false or absent is no CORS; an origin list with credentials is kept', () => {
    assert.equal(resolveOptions({ logger: false, cors: false }).cors, undefined);
    assert.deepEqual(resolveOptions({ logger: false, cors: { origin: ['https://a.example', /\.b\.example$/] } }).cors, {
      origin: ['https://a.example', /\.b\.example$/],
      credentials: true,
      maxAge: 600,
    });
    assert.equal(resolveOptions({ logger: false, cors: { origin: '*', credentials: false } }).cors?.origin, '*');
  });

  it('takes an engine it is given, and history false as no history', () => {
    const engine = memoryEngine();
    assert.equal(resolveOptions({ logger: false, engine }).engine, engine);
    assert.equal(resolveOptions({ logger: false, history: false }).history, undefined);
    assert.equal(resolveOptions({ logger: false, history: { channels: ['/a'], ttl: 1000 } }).history?.ttl, 1000);
  });

  it('a websocket path loses its trailing slash, except "/" itself', () => {
    assert.equal(resolveOptions({ logger: false, websocket: { path: '/ws/' } }).websocket.path, '/ws');
    assert.equal(resolveOptions({ logger: false, websocket: { path: '/' } }).websocket.path, '/');
  });

  it('history defaults to the README values: 1,000 messages for 24 h, no Salesforce replayId', () => {
    assert.deepEqual(resolveOptions({ logger: false, history: { channels: ['/chat/*'] } }).history, {
      channels: ['/chat/*'],
      size: 1000,
      ttl: 86_400_000,
      salesforce: false,
    });
    assert.equal(resolveOptions({ logger: false, history: { channels: ['/chat/*'], salesforce: true } }).history?.salesforce, true);
  });

  it('durations that look like seconds are accepted with a warning naming the fix', () => {
    const warned: [unknown, string][] = [];
    const logger = { debug() {}, info() {}, warn: (obj: unknown, text: string) => warned.push([obj, text]), error() {} };
    resolveOptions({ logger, timeout: 30, interval: 0, maxInterval: 60_000 });
    assert.deepEqual(warned, [
      [
        { option: 'timeout', value: 30 },
        'express-bayeux: option "timeout" is 30 ms; durations are milliseconds (Faye counts seconds): did you mean 30000?',
      ],
    ]);
  });
});

describe('default user identity', () => {
  const identify = resolveOptions({ logger: false }).identify;
  const cases: [string, unknown, string | undefined][] = [
    ['no user', undefined, undefined],
    ['null', null, undefined],
    ['false (Passport when logged out)', false, undefined],
    ['a string', 'alice', 'alice'],
    ['a number', 7, '7'],
    ['an id', { id: 'u1', username: 'alice' }, 'id:u1'],
    ['a numeric id', { id: 0 }, 'id:0'],
    ['a bigint id', { id: 12n }, 'id:12'],
    ['a Mongo _id object', { _id: { toString: () => '507f1f77bcf86cd799439011' } }, '_id:507f1f77bcf86cd799439011'],
    ['a username when there is no id', { username: 'alice', email: 'a@example.com' }, 'username:alice'],
    ['an email last', { email: 'a@example.com' }, 'email:a@example.com'],
    ['an id object without its own toString', { id: { x: 1 }, email: 'a@example.com' }, 'email:a@example.com'],
    ['a null id', { id: null, username: 'alice' }, 'username:alice'],
    ['a boolean id, which is no identity', { id: true }, 'json:{"id":true}'],
    ['nothing known: the whole object', { name: 'Alice' }, 'json:{"name":"Alice"}'],
  ];
  for (const [title, user, key] of cases) {
    it(`of ${title}`, () => assert.equal(identify(user), key));
  }
});

describe('the default logger', () => {
  it('prints warnings and errors on the console once prefixed, with their fields', (t) => {
    const printed: unknown[][] = [];
    t.mock.method(console, 'error', (...args: unknown[]) => printed.push(args));
    const logger = defaultLogger();
    logger.warn('express-bayeux: a plain warning');
    logger.error({ ip: '10.0.0.1' }, 'express-bayeux: request failed');
    logger.warn({ option: 'timeout' });
    assert.deepEqual(printed, [
      ['express-bayeux warn: a plain warning'],
      ['express-bayeux error: request failed', { ip: '10.0.0.1' }],
      ['express-bayeux warn: ', { option: 'timeout' }],
    ]);
  });

  it('sends debug and info through the debug package, and only when DEBUG names it', (t) => {
    const traced: unknown[][] = [];
    // debug hands its line to `log` for util.format, as it would print it.
    t.mock.method(createDebug, 'log', (...args: unknown[]) => traced.push([format(...args)]));
    const logger = defaultLogger();
    createDebug.disable();
    logger.debug('express-bayeux: hidden');
    assert.deepEqual(traced, []);
    createDebug.enable('express-bayeux');
    t.after(() => createDebug.disable());
    const enabled = defaultLogger();
    enabled.debug('express-bayeux: handshake');
    enabled.info({ clientId: 'c1' }, 'express-bayeux: connect');
    assert.equal(traced.length, 2);
    assert.match(String(traced[0]?.[0]), /express-bayeux handshake$/);
    assert.match(String(traced[1]?.[0]), /express-bayeux connect \{ clientId: 'c1' \}$/);
  });

  it('logger: false is silent', (t) => {
    const printed: unknown[] = [];
    t.mock.method(console, 'error', (...args: unknown[]) => printed.push(args));
    const logger = resolveOptions({ logger: false }).logger;
    logger.warn('x');
    logger.error({ err: new Error('y') }, 'y');
    assert.deepEqual(printed, []);
  });
});
