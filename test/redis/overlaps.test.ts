/**
 * The rules a session holding two patterns that match one channel follows on
 * a Redis Cluster (lib/engines/redis/overlaps.ts), with time given: which
 * copy it takes, how a new pattern settles and an old one retires, and what
 * a move carries. The copies' races on a real cluster are in
 * redis-cluster.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Overlaps, overlap } from '../../lib/engines/redis/overlaps.js';
import { Session } from '../../lib/engines/session.js';

const WINDOW = 4000;

function session(id: string, ...patterns: string[]): Session {
  const s = new Session({ id, user: undefined, userKey: undefined, ip: '127.0.0.1', transport: 'long-polling', data: {} }, 0);
  for (const p of patterns) s.channels.add(p);
  return s;
}

/** Overlaps with an interest that counts its holders per pattern. */
function tracker(): { overlaps: Overlaps<Session>; held: Map<string, number> } {
  const held = new Map<string, number>();
  const overlaps = new Overlaps<Session>(WINDOW, {
    add: (p) => held.set(p, (held.get(p) ?? 0) + 1),
    remove: (p) => {
      const n = (held.get(p) ?? 0) - 1;
      if (n > 0) held.set(p, n);
      else held.delete(p);
    },
  });
  return { overlaps, held };
}

function subscribe(overlaps: Overlaps<Session>, s: Session, now: number, ...patterns: string[]): void {
  for (const p of patterns) s.channels.add(p);
  overlaps.joined(s, patterns, now);
}

function unsubscribe(overlaps: Overlaps<Session>, s: Session, now: number, ...patterns: string[]): void {
  overlaps.leaving(s, patterns, now);
  for (const p of patterns) s.channels.delete(p);
}

describe('patterns that match one channel (Redis Cluster)', () => {
  it('knows which patterns share a channel', () => {
    const shared = [
      ['/room/1', '/room/*'],
      ['/room/1', '/room/**'],
      ['/room/a/b', '/room/**'],
      ['/room/*', '/room/**'],
      ['/room/a/*', '/room/**'],
      ['/a/b', '/**'],
      ['/**', '/room/*'],
    ] as const;
    const apart = [
      ['/room/1', '/room/2'],
      ['/room/1', '/room/1'],
      ['/room/a/b', '/room/*'],
      ['/room/*', '/room/a/*'],
      ['/room/*', '/room/a/**'],
      ['/room/*', '/hall/*'],
      ['/room/**', '/hall/**'],
      ['/room', '/room/*'],
    ] as const;
    for (const [pairs, expected] of [
      [shared, true],
      [apart, false],
    ] as const) {
      for (const [a, b] of pairs) {
        assert.equal(overlap(a, b), expected, `${a} ${b}`);
        assert.equal(overlap(b, a), expected, `${b} ${a}`);
      }
    }
  });

  it('takes the first copy of a broadcast, on whichever pattern it comes, and not the others', () => {
    const { overlaps } = tracker();
    const s = session('s');
    subscribe(overlaps, s, 0, '/room/*', '/room/1');
    assert.equal(overlaps.size, 1);
    // Subscribed together: neither delivered before, so both deliver at once.
    assert.equal(overlaps.admits(s, '/room/*', '/room/1', 'm1', 10), true);
    assert.equal(overlaps.admits(s, '/room/1', '/room/1', 'm1', 11), false);
    assert.equal(overlaps.admits(s, '/room/1', '/room/1', 'm2', 12), true);
    assert.equal(overlaps.admits(s, '/room/*', '/room/1', 'm2', 13), false);
    // Remembered for the window at least, across the generations.
    assert.equal(overlaps.admits(s, '/room/*', '/room/1', 'm3', 3999), true);
    assert.equal(overlaps.admits(s, '/room/*', '/room/1', 'm4', 4001), true);
    assert.equal(overlaps.admits(s, '/room/1', '/room/1', 'm3', 7000), false);
    // A session without overlapping patterns has no state and takes every copy of its one pattern.
    const plain = session('plain', '/room/1');
    overlaps.joined(plain, ['/room/1'], 0);
    assert.equal(overlaps.admits(plain, '/room/1', '/room/1', 'm1', 20), true);
    assert.equal(overlaps.size, 1);
  });

  it('lets a pattern subscribed next to an older one settle before it delivers on their shared channels', () => {
    const { overlaps } = tracker();
    const s = session('s', '/room/*');
    overlaps.joined(s, ['/room/*'], 0);
    assert.equal(overlaps.size, 0);
    subscribe(overlaps, s, 100, '/room/1');
    // m0 came on /room/* before the subscribe (delivered then, not remembered): its /room/1 twin is not taken.
    assert.equal(overlaps.admits(s, '/room/1', '/room/1', 'm0', 101), false);
    // While /room/1 settles, /room/* delivers /room/1's messages, remembered.
    assert.equal(overlaps.admits(s, '/room/*', '/room/1', 'm1', 200), true);
    assert.equal(overlaps.admits(s, '/room/1', '/room/1', 'm1', 201), false);
    // Settled: the first copy wins, and a twin of m1 still finds it taken.
    assert.equal(overlaps.admits(s, '/room/1', '/room/1', 'm1', 100 + WINDOW + 1), false);
    assert.equal(overlaps.admits(s, '/room/1', '/room/1', 'm2', 100 + WINDOW + 2), true);
    assert.equal(overlaps.admits(s, '/room/*', '/room/1', 'm2', 100 + WINDOW + 3), false);
    // Channels only /room/* matches never wait.
    assert.equal(overlaps.admits(s, '/room/*', '/room/2', 'x1', 150), true);
  });

  it('keeps an unsubscribed pattern delivering while the one that stays still settles, then lets it go', () => {
    const { overlaps, held } = tracker();
    const s = session('s', '/room/*');
    subscribe(overlaps, s, 100, '/room/1');
    // m1 came on /room/1 while it settled: not taken; its /room/* twin is still on its way.
    assert.equal(overlaps.admits(s, '/room/1', '/room/1', 'm1', 200), false);
    unsubscribe(overlaps, s, 300, '/room/*');
    assert.equal(held.get('/room/*'), 1, 'the node keeps receiving the retiring pattern');
    assert.deepEqual([...overlaps.retiringOf('/room/*')], [s]);
    assert.equal(overlaps.admits(s, '/room/*', '/room/1', 'm1', 400), true, 'the twin the settling pattern skipped');
    assert.equal(overlaps.admits(s, '/room/*', '/room/2', 'x1', 400), false, 'not for a channel it no longer wants');
    // While /room/1 settles, the retiring /room/* is still its only source.
    assert.equal(overlaps.admits(s, '/room/1', '/room/1', 'm2', 500), false);
    assert.equal(overlaps.admits(s, '/room/*', '/room/1', 'm2', 501), true);
    // After /room/1 settled, both deliver until the retiring one is let go, a window later.
    const settled = 100 + WINDOW;
    assert.equal(overlaps.admits(s, '/room/1', '/room/1', 'm3', settled + 1), true);
    assert.equal(overlaps.admits(s, '/room/*', '/room/1', 'm3', settled + 2), false);
    overlaps.sweep(() => s, settled + WINDOW - 1);
    assert.equal(held.get('/room/*'), 1);
    overlaps.sweep(() => s, settled + WINDOW);
    assert.equal(held.has('/room/*'), false, 'retired');
    assert.deepEqual([...overlaps.retiringOf('/room/*')], []);
    assert.equal(overlaps.admits(s, '/room/*', '/room/1', 'm4', settled + WINDOW + 1), false);
    // No overlapping patterns left: the state goes once quiet for a window.
    overlaps.sweep(() => s, settled + WINDOW + 10);
    assert.equal(overlaps.size, 1);
    overlaps.sweep(() => s, settled + 2 * WINDOW + 10);
    assert.equal(overlaps.size, 0);
  });

  it('does not retire a pattern that was not delivering yet, nor one whose partner settled', () => {
    const { overlaps, held } = tracker();
    const s = session('s', '/room/*');
    subscribe(overlaps, s, 0, '/room/1');
    unsubscribe(overlaps, s, 10, '/room/1');
    assert.equal(held.size, 0);
    subscribe(overlaps, s, 20, '/room/1');
    unsubscribe(overlaps, s, 20 + WINDOW, '/room/*');
    assert.equal(held.size, 0);
  });

  it('hands what it remembers and what settles to the next owner', () => {
    const old = tracker().overlaps;
    const s = session('s', '/room/*');
    subscribe(old, s, 0, '/room/1');
    assert.equal(old.admits(s, '/room/*', '/room/1', 'm1', 100), true);
    const handed = old.handover(s, 1000);
    assert.deepEqual(handed, { seen: ['m1'], settling: [['/room/1', WINDOW - 1000]] });
    assert.equal(old.size, 0);

    const next = tracker().overlaps;
    const moved = session('s', '/room/*', '/room/1');
    next.arrived(moved, handed, 50_000);
    assert.equal(next.admits(moved, '/room/*', '/room/1', 'm1', 50_001), false, 'given before the move');
    assert.equal(next.admits(moved, '/room/1', '/room/1', 'm2', 50_002), false, 'still settling');
    assert.equal(next.admits(moved, '/room/*', '/room/1', 'm2', 50_003), true);
    // A session that arrives with overlapping patterns and nothing handed over (its node died) takes first copies.
    const orphan = session('o', '/a/*', '/a/**');
    next.arrived(orphan, undefined, 0);
    assert.equal(next.admits(orphan, '/a/**', '/a/b', 'n1', 1), true);
    assert.equal(next.admits(orphan, '/a/*', '/a/b', 'n1', 2), false);
  });

  it('forgets the sessions that left the node', () => {
    const { overlaps, held } = tracker();
    const s = session('s', '/room/*');
    subscribe(overlaps, s, 0, '/room/1');
    unsubscribe(overlaps, s, 10, '/room/*');
    assert.equal(held.get('/room/*'), 1);
    overlaps.sweep(() => undefined, 20);
    assert.equal(overlaps.size, 0);
    assert.equal(held.size, 0);
  });
});
