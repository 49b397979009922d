/** Property-based tests of the pure protocol layer: whatever comes in, no surprise goes out. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { expand, isValidChannel, matches } from '../../lib/protocol/channel.js';
import { ChannelIndex } from '../../lib/protocol/channel-index.js';
import { InvalidMessagesError, toMessages } from '../../lib/protocol/message.js';

const segment = fc.stringMatching(/^[A-Za-z0-9\-_!~()$@.]{1,8}$/);
const channel = fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => `/${s.join('/')}`);
const pattern = fc.oneof(
  channel,
  channel.map((c) => `${c}/*`),
  channel.map((c) => `${c}/**`),
);
const hostile = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString'), fc.string(), fc.string({ unit: 'binary' }));

describe('the message parser (fuzzed)', () => {
  it('throws nothing but InvalidMessagesError, whatever JSON it gets', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        try {
          const messages = toMessages(value, 50);
          for (const m of messages) assert.equal(typeof m.channel, 'string');
        } catch (err) {
          assert.ok(err instanceof InvalidMessagesError, String(err));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts message-shaped objects with hostile keys without touching Object.prototype', () => {
    fc.assert(
      fc.property(fc.dictionary(hostile, fc.jsonValue({ maxDepth: 3 })), channel, (extra, ch) => {
        const parsed = JSON.parse(JSON.stringify([{ ...extra, channel: ch }])) as unknown;
        try {
          toMessages(parsed, 10);
        } catch (err) {
          assert.ok(err instanceof InvalidMessagesError);
        }
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('the channel grammar (fuzzed)', () => {
  it('agrees with a reference regular expression', () => {
    const reference = /^\/[A-Za-z0-9\-_!~()$@.]+(\/[A-Za-z0-9\-_!~()$@.]+)*(\/\*\*?)?$|^\/\*\*?$/;
    fc.assert(
      fc.property(fc.oneof(channel, pattern, fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 })), (name) => {
        assert.equal(isValidChannel(name), reference.test(name), name);
      }),
      { numRuns: 3000 },
    );
  });

  it('routes through the index exactly where matches() says, once per subscriber', () => {
    fc.assert(
      fc.property(fc.uniqueArray(pattern, { maxLength: 12 }), channel, (patterns, ch) => {
        const index = new ChannelIndex<string>();
        for (const [i, p] of patterns.entries()) index.add(p, `s${i}`);
        const seen: string[] = [];
        index.match(ch, (item: string) => seen.push(item), undefined);
        const expected = patterns.flatMap((p, i) => (matches(p, ch) ? [`s${i}`] : []));
        assert.deepEqual([...seen].sort(), [...expected].sort());
        for (const p of expand(ch)) assert.ok(matches(p, ch) || p === ch);
      }),
      { numRuns: 2000 },
    );
  });
});
