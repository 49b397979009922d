/**
 * The error table, channel matching and ACL verdicts, down to the edges
 * mutation testing (npm run mutate) found untested.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPromise } from '../../lib/engines/maybe-promise.js';
import type { Message, MessageContext } from '../../lib/index.js';
import { isMeta, isService, isValidChannel, matches } from '../../lib/protocol/channel.js';
import { ChannelIndex } from '../../lib/protocol/channel-index.js';
import { BayeuxError, bayeuxError, parseBayeuxError } from '../../lib/protocol/errors.js';
import { authorize, runIncoming } from '../../lib/server/extensions.js';

describe('channel matching edges', () => {
  it('never matches a wildcard against its own prefix', () => {
    assert.equal(matches('/a/**', '/a/'), false);
    assert.equal(matches('/a/*', '/a/'), false);
    assert.equal(matches('/a/**', '/a/b'), true);
    assert.equal(matches('/a/*', '/a/b'), true);
  });

  it('matches a concrete pattern only against itself', () => {
    assert.equal(matches('/a/b', '/a/c'), false);
    assert.equal(matches('/a/b', '/a/b'), true);
  });

  it('keeps a pattern routed while another subscriber of it remains', () => {
    const index = new ChannelIndex<string>();
    index.add('/r/*', 'one');
    index.add('/r/*', 'two');
    assert.equal(index.remove('/r/*', 'one'), true);
    const seen: string[] = [];
    index.match('/r/x', (item) => seen.push(item), undefined);
    assert.deepEqual(seen, ['two']);
    assert.equal(index.size, 1);
    index.remove('/r/*', 'two');
    assert.equal(index.size, 0);
  });
});

describe('channel kinds', () => {
  it('counts the bare /meta and /service roots as their kind, and nothing empty', () => {
    assert.equal(isMeta('/meta'), true);
    assert.equal(isService('/service'), true);
    assert.equal(isMeta(''), false);
    assert.equal(isService(''), false);
    assert.equal(isMeta('/metadata'), false);
    assert.equal(isService('/services'), false);
  });

  it('refuses "/" alone and the empty name', () => {
    assert.equal(isValidChannel('/'), false);
    assert.equal(isValidChannel(''), false);
    assert.equal(isValidChannel('/a'), true);
  });
});

describe('error table edges', () => {
  it('joins several arguments with commas', () => {
    assert.equal(bayeuxError('unknownChannel', ['/a', '/b'], 'no'), '404:/a,/b:no');
    assert.deepEqual(parseBayeuxError(bayeuxError('unknownChannel', ['/a', '/b'], 'no')).args, ['/a', '/b']);
  });

  it('parses only strings that start with a three-digit code', () => {
    assert.deepEqual(parseBayeuxError('x403::No'), { code: 0, args: [], message: 'x403::No' });
    assert.deepEqual(parseBayeuxError('403:/a,/b:No:more'), { code: 403, args: ['/a', '/b'], message: 'No:more' });
  });

  it('names BayeuxError and gives code 400 to a reason without a leading code', () => {
    const error = new BayeuxError('x403:nope');
    assert.equal(error.name, 'BayeuxError');
    assert.equal(error.bayeux, '400::x403:nope');
    assert.equal(new BayeuxError('404:/x:Gone').bayeux, '404:/x:Gone');
  });
});

const context: MessageContext = { ip: '127.0.0.1', user: undefined, req: undefined, transport: 'local', client: undefined };
const message: Message = { channel: '/ch', data: 1 };

describe('ACL verdicts', () => {
  it('refuses false with the table error, sync or async', async () => {
    assert.equal(
      authorize(() => false, message, context, 'publishDenied', '/ch'),
      '403:/ch:Publish denied',
    );
    assert.equal(await authorize(async () => false, message, context, 'publishDenied', '/ch'), '403:/ch:Publish denied');
    assert.equal(await authorize(async () => true, message, context, 'publishDenied', '/ch'), undefined);
  });

  it('takes a full code:args:message string as is, and wraps anything else as the reason', () => {
    const verdict = (v: string) => authorize(() => v, message, context, 'publishDenied', '/ch');
    assert.equal(verdict('409:ab:Conflict'), '409:ab:Conflict');
    assert.equal(verdict('409::Conflict'), '409::Conflict');
    assert.equal(verdict('x409::Conflict'), '403:/ch:x409::Conflict');
    assert.equal(verdict('40:a:b'), '403:/ch:40:a:b');
    assert.equal(verdict('Not here'), '403:/ch:Not here');
  });

  it('runs the extensions after an async one, in order', async () => {
    const ran: string[] = [];
    const done = runIncoming(
      [
        {
          async incoming() {
            ran.push('async');
          },
        },
        {
          incoming() {
            ran.push('after');
          },
        },
      ],
      { ...message },
      context,
    );
    assert.ok(done instanceof Promise);
    await done;
    assert.deepEqual(ran, ['async', 'after']);
  });
});

describe('what counts as a hook returning a promise', () => {
  // Thenables on purpose: they are what this check is about.
  it('is any thenable, object or function, and nothing else', () => {
    // biome-ignore lint/suspicious/noThenProperty: a thenable function is the case under test
    const thenableFunction = Object.assign(() => {}, { then: (resolve: () => void) => resolve() });
    assert.equal(isPromise(Promise.resolve()), true);
    // biome-ignore lint/suspicious/noThenProperty: a thenable object is the case under test
    assert.equal(isPromise({ then() {} }), true);
    assert.equal(isPromise(thenableFunction), true);
    // biome-ignore lint/suspicious/noThenProperty: a `then` that is not a function is the case under test
    for (const value of [null, undefined, 'Not here', false, {}, { then: 1 }, () => {}]) {
      assert.equal(isPromise(value), false, String(value));
    }
  });
});
