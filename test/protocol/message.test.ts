import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { holdTime } from '../../lib/protocol/advice.js';
import { BayeuxError, bayeuxError, parseBayeuxError } from '../../lib/protocol/errors.js';
import { InvalidMessagesError, subscriptionsOf, toMessages } from '../../lib/protocol/message.js';

describe('message validation', () => {
  it('accepts one message or an array of them', () => {
    assert.deepEqual(toMessages({ channel: '/a' }, 10), [{ channel: '/a' }]);
    assert.equal(toMessages([{ channel: '/a' }, { channel: '/b', id: 3 }], 10).length, 2);
  });

  it('refuses values that are not messages', () => {
    for (const value of [null, 5, 'x', [], [null], [5], [{ channel: 5 }], [{}], [{ channel: '/a' }, []], [{ channel: '/a', id: {} }]]) {
      assert.throws(() => toMessages(value, 10), InvalidMessagesError, JSON.stringify(value));
    }
  });

  it('refuses more messages than the limit', () => {
    const many = Array.from({ length: 11 }, () => ({ channel: '/a' }));
    assert.throws(() => toMessages(many, 10), /more than the limit of 10/);
  });

  it('reads a subscription given as a string or an array of strings', () => {
    assert.deepEqual(subscriptionsOf({ channel: '/meta/subscribe', subscription: '/a' }), ['/a']);
    assert.deepEqual(subscriptionsOf({ channel: '/meta/subscribe', subscription: ['/a', '/b'] }), ['/a', '/b']);
    for (const subscription of [undefined, 5, [], ['/a', 5], { a: 1 }]) {
      assert.equal(subscriptionsOf({ channel: '/meta/subscribe', subscription: subscription as unknown as string }), undefined);
    }
  });
});

describe('error table', () => {
  it('formats code:args:message strings', () => {
    assert.equal(bayeuxError('unknownClient'), '402::Unknown client');
    assert.equal(bayeuxError('invalidChannel', '/a/**/b'), '405:/a/**/b:Invalid channel');
    assert.equal(bayeuxError('subscribeDenied', ['/a', '/b'], 'not yours'), '403:/a,/b:not yours');
  });

  it('parses error strings back', () => {
    assert.deepEqual(parseBayeuxError('403:/a,/b:not: yours'), { code: 403, args: ['/a', '/b'], message: 'not: yours' });
    assert.deepEqual(parseBayeuxError('402::Unknown client'), { code: 402, args: [], message: 'Unknown client' });
    assert.deepEqual(parseBayeuxError('free text'), { code: 0, args: [], message: 'free text' });
  });

  it('gives BayeuxError a stable code and a full error string', () => {
    const err = new BayeuxError('403::Not today');
    assert.equal(err.code, 'BAYEUX_ERROR');
    assert.equal(err.bayeux, '403::Not today');
    assert.equal(new BayeuxError('plain').bayeux, '400::plain');
  });
});

describe('advice', () => {
  it('honours a client timeout within the server bounds', () => {
    assert.equal(holdTime(undefined, 30000), 30000);
    assert.equal(holdTime(0, 30000), 0);
    assert.equal(holdTime(5000, 30000), 5000);
    assert.equal(holdTime(99999, 30000), 30000);
    assert.equal(holdTime(-5, 30000), 0);
    assert.equal(holdTime('5', 30000), 30000);
    assert.equal(holdTime(Number.NaN, 30000), 30000);
  });
});
