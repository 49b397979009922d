import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryHistory } from '../../lib/engines/history/memory.js';
import { Stamper } from '../../lib/engines/history/position.js';
import { memoryEngine, ReplayRefusedError } from '../../lib/index.js';
import { replayBehaviour } from './behaviour.js';

replayBehaviour('memory', () => memoryEngine());

describe('memory history', () => {
  const stamper = new Stamper(false);
  const template = (n: number) => stamper.template({ channel: '/a', data: { n } });
  const numbers = (kept: { json: string }[]) => kept.map((k) => (JSON.parse(k.json) as { data: { n: number } }).data.n);

  it('keeps at most size messages per channel', () => {
    const history = new MemoryHistory({ channels: ['/a'], size: 3, ttl: 60_000, salesforce: false });
    for (let n = 1; n <= 10; n++) history.append('/a', template(n), 1000);
    assert.deepEqual(numbers(history.read('/a', { kind: 'all' }, 1000)), [8, 9, 10]);
  });

  it('serves nothing older than ttl and refuses a resume into expired messages', () => {
    const history = new MemoryHistory({ channels: ['/a'], size: 100, ttl: 60_000, salesforce: false });
    const first = history.append('/a', template(1), 0).position;
    history.append('/a', template(2), 30_000);
    history.append('/a', template(3), 50_000);
    assert.deepEqual(numbers(history.read('/a', { kind: 'all' }, 70_000)), [2, 3]);
    assert.deepEqual(numbers(history.read('/a', { kind: 'after', offset: first.offset, epoch: first.epoch }, 70_000)), [2, 3]);
    assert.throws(
      () => history.read('/a', { kind: 'after', offset: first.offset - 1, epoch: first.epoch }, 70_000),
      (err: ReplayRefusedError) => err.reason === 'evicted',
    );
  });

  it('forgets idle channels after ttl, and a new log starts above every earlier offset', () => {
    const history = new MemoryHistory({ channels: ['/a'], size: 100, ttl: 60_000, salesforce: false });
    const old = history.append('/a', template(1), 1000).position;
    history.sweep(100_000);
    assert.deepEqual(history.read('/a', { kind: 'all' }, 100_000), []);
    const fresh = history.append('/a', template(2), 100_000).position;
    assert.ok(fresh.offset > old.offset);
    assert.throws(() => history.read('/a', { kind: 'after', offset: old.offset, epoch: undefined }, 100_000), ReplayRefusedError);
  });

  it('stays bounded under a soak of 10,000 publishes over 50 channels, and forgets them all after ttl', () => {
    const history = new MemoryHistory({ channels: ['/a/*'], size: 10, ttl: 60_000, salesforce: false });
    for (let n = 0; n < 10_000; n++) history.append(`/a/${n % 50}`, template(n), n);
    for (let c = 0; c < 50; c++) assert.equal(history.read(`/a/${c}`, { kind: 'all' }, 10_000).length, 10);
    history.sweep(10_000 + 60_001);
    for (let c = 0; c < 50; c++) assert.deepEqual(history.read(`/a/${c}`, { kind: 'all' }, 100_000), []);
  });

  it('a restarted engine has another epoch', () => {
    const config = { channels: ['/a'], size: 1, ttl: 60_000, salesforce: false };
    assert.notEqual(new MemoryHistory(config).epoch, new MemoryHistory(config).epoch);
  });
});

describe('history option', () => {
  it('is checked once, naming the bad field', async () => {
    const { bayeux } = await import('../../lib/index.js');
    const bad: [unknown, RegExp][] = [
      [{}, /"history.channels" must be a non-empty array/],
      [{ channels: [] }, /"history.channels"/],
      [{ channels: ['/meta/*'] }, /"history.channels" must be broadcast channel patterns/],
      [{ channels: ['nope'] }, /"history.channels"/],
      [{ channels: ['/a'], size: 0 }, /"history.size" must be an integer >= 1/],
      [{ channels: ['/a'], ttl: 60 }, /"history.ttl" must be milliseconds/],
      [{ channels: ['/a'], salesforce: 'yes' }, /"history.salesforce" must be a boolean/],
      [{ channels: ['/a'], sizes: 3 }, /unknown option "history.sizes"/],
      ['on', /"history" must be false or/],
    ];
    for (const [history, error] of bad) {
      assert.throws(() => bayeux({ logger: false, history: history as never }), error);
    }
  });

  it('defaults to 1000 messages for 24 hours', async () => {
    const { resolveOptions } = await import('../../lib/server/options/resolve.js');
    const { HISTORY_DEFAULTS } = await import('../../lib/server/options/defaults.js');
    assert.deepEqual(resolveOptions({ history: { channels: ['/a/**'] } }).history, {
      channels: ['/a/**'],
      size: HISTORY_DEFAULTS.size,
      ttl: HISTORY_DEFAULTS.ttl,
      salesforce: false,
    });
    assert.deepEqual(HISTORY_DEFAULTS, { size: 1000, ttl: 86_400_000, salesforce: false });
    assert.equal(resolveOptions({ history: false }).history, undefined);
  });
});
