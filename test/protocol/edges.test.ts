/**
 * Edges of message decoding and advice that mutation testing (npm run mutate)
 * found no test held: the error each malformed request gets, the message-count
 * boundary, and the advice a client is told to follow.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { holdTime, unavailableAdvice } from '../../lib/protocol/advice.js';
import { InvalidMessagesError, replyTo, toMessages } from '../../lib/protocol/message.js';

/** The InvalidMessagesError `toMessages` throws for `value`. */
function refusal(value: unknown, max = 10): InvalidMessagesError {
  try {
    toMessages(value, max);
  } catch (err) {
    assert.ok(err instanceof InvalidMessagesError, String(err));
    return err;
  }
  assert.fail(`accepted ${JSON.stringify(value)}`);
}

describe('toMessages', () => {
  it('says what is wrong with each malformed request, with a stable code', () => {
    assert.equal(refusal([]).code, 'BAYEUX_INVALID_MESSAGES');
    assert.equal(refusal([]).message, 'the request holds no messages');
    assert.equal(refusal(['/a']).message, 'message 0 is not an object');
    assert.equal(refusal([{ channel: '/a' }, 7]).message, 'message 1 is not an object');
    assert.equal(refusal([null]).message, 'message 0 is not an object');
    assert.equal(refusal([[{ channel: '/a' }]]).message, 'message 0 is not an object');
    assert.equal(refusal({ channel: 5 }).message, 'message 0 has no string "channel"');
    assert.equal(refusal({ channel: '/a', id: {} }).message, 'message 0 has an "id" that is neither a string nor a number');
    assert.equal(refusal(Array(4).fill({ channel: '/a' }), 3).message, 'the request holds 4 messages, more than the limit of 3');
  });

  it('accepts exactly the limit of messages, and ids that are strings or numbers', () => {
    assert.equal(toMessages(Array(3).fill({ channel: '/a' }), 3).length, 3);
    assert.deepEqual(toMessages({ channel: '/a', id: 7 }, 1), [{ channel: '/a', id: 7 }]);
    assert.deepEqual(toMessages([{ channel: '/a', id: '7' }], 1), [{ channel: '/a', id: '7' }]);
  });
});

describe('replyTo', () => {
  it('copies the id only when the message had one', () => {
    assert.deepEqual(replyTo({ channel: '/a', id: 0 }, true), { channel: '/a', successful: true, id: 0 });
    assert.equal(Object.hasOwn(replyTo({ channel: '/a' }, false), 'id'), false);
  });
});

describe('advice', () => {
  it('tells a client of an unavailable server to retry the same request after about the interval', () => {
    const intervals = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const advice = unavailableAdvice(1500);
      assert.equal(advice.reconnect, 'retry');
      assert.ok(advice.interval !== undefined && advice.interval >= 750 && advice.interval <= 2250, String(advice.interval));
      intervals.add(advice.interval);
    }
    assert.ok(intervals.size > 1, 'the interval is spread, not one value for the whole crowd');
  });

  it("holds for the server's timeout unless the client asks for a shorter finite one", () => {
    assert.equal(holdTime(undefined, 30_000), 30_000);
    assert.equal(holdTime('5', 30_000), 30_000);
    assert.equal(holdTime(Number.NaN, 30_000), 30_000);
    assert.equal(holdTime(Number.POSITIVE_INFINITY, 30_000), 30_000);
    assert.equal(holdTime(5, 30_000), 5);
    assert.equal(holdTime(-5, 30_000), 0);
    assert.equal(holdTime(60_000, 30_000), 30_000);
  });
});
