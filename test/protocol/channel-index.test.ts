import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChannelIndex } from '../../lib/protocol/channel-index.js';

function matched(index: ChannelIndex<string>, channel: string): string[] {
  const out: string[] = [];
  index.match(channel, (item, acc) => acc.push(item), out);
  return out;
}

describe('ChannelIndex', () => {
  it('visits subscribers of every matching pattern', () => {
    const index = new ChannelIndex<string>();
    index.add('/a/b', 'exact');
    index.add('/a/*', 'star');
    index.add('/a/**', 'deep');
    index.add('/**', 'all');
    index.add('/c', 'other');
    assert.deepEqual(matched(index, '/a/b').sort(), ['all', 'deep', 'exact', 'star']);
    assert.deepEqual(matched(index, '/a/b/c').sort(), ['all', 'deep']);
    assert.deepEqual(matched(index, '/z'), ['all']);
  });

  it('visits a subscriber once even when several of its patterns match', () => {
    const index = new ChannelIndex<string>();
    for (const p of ['/a/b', '/a/*', '/a/**', '/**']) index.add(p, 'same');
    assert.deepEqual(matched(index, '/a/b'), ['same']);
  });

  it('reports additions and removals and forgets empty patterns', () => {
    const index = new ChannelIndex<string>();
    assert.equal(index.add('/a', 'x'), true);
    assert.equal(index.add('/a', 'x'), false);
    assert.equal(index.size, 1);
    assert.equal(index.remove('/a', 'y'), false);
    assert.equal(index.remove('/a', 'x'), true);
    assert.equal(index.size, 0);
    assert.deepEqual(matched(index, '/a'), []);
  });

  it('keeps channel names like __proto__ as plain keys', () => {
    const index = new ChannelIndex<string>();
    index.add('/__proto__', 'p');
    index.add('/constructor', 'c');
    assert.deepEqual(matched(index, '/__proto__'), ['p']);
    assert.deepEqual(matched(index, '/constructor'), ['c']);
    assert.equal(({} as Record<string, unknown>).p, undefined);
  });
});
