import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { channelKind, expand, isValidChannel, isWildcard, matches } from '../../lib/protocol/channel.js';

describe('channel grammar', () => {
  it('accepts absolute names made of segment characters', () => {
    for (const name of ['/a', '/chat/demo', '/a-b_c/!~()$@/x.y', '/meta/connect', '/service/echo', '/__proto__', '/constructor']) {
      assert.equal(isValidChannel(name), true, name);
    }
  });

  it('accepts * and ** only as the last segment', () => {
    for (const name of ['/*', '/**', '/a/*', '/a/b/**']) assert.equal(isValidChannel(name), true, name);
    for (const name of ['/*/a', '/**/a', '/a/***', '/a/b*', '/a/*b']) assert.equal(isValidChannel(name), false, name);
  });

  it('refuses relative, empty-segment, spaced and non-string names', () => {
    for (const name of ['', '/', 'a/b', '/a//b', '/a/', '/a b', '/a/b?c', '/ä', '/a:b', '/a,b', 5, null, undefined, ['/a'], {}]) {
      assert.equal(isValidChannel(name), false, JSON.stringify(name));
    }
  });

  it('refuses names longer than 1024 characters', () => {
    assert.equal(isValidChannel(`/${'a'.repeat(1023)}`), true);
    assert.equal(isValidChannel(`/${'a'.repeat(1024)}`), false);
  });

  it('tells meta, service and broadcast channels apart', () => {
    assert.equal(channelKind('/meta/handshake'), 'meta');
    assert.equal(channelKind('/service/echo'), 'service');
    assert.equal(channelKind('/chat/meta'), 'broadcast');
    assert.equal(channelKind('/metadata'), 'broadcast');
    assert.equal(channelKind('/services/x'), 'broadcast');
    assert.equal(isWildcard('/a/*'), true);
    assert.equal(isWildcard('/a/**'), true);
    assert.equal(isWildcard('/a/b'), false);
  });
});

describe('wildcard expansion', () => {
  it('expands a channel into every pattern that matches it', () => {
    assert.deepEqual(expand('/a/b/c'), ['/a/b/c', '/a/b/*', '/a/b/**', '/a/**', '/**']);
    assert.deepEqual(expand('/a'), ['/a', '/*', '/**']);
  });

  it('matches * to exactly one segment and ** to one or more', () => {
    assert.equal(matches('/a/*', '/a/b'), true);
    assert.equal(matches('/a/*', '/a/b/c'), false);
    assert.equal(matches('/a/*', '/a'), false);
    assert.equal(matches('/a/**', '/a/b'), true);
    assert.equal(matches('/a/**', '/a/b/c'), true);
    assert.equal(matches('/a/**', '/a'), false);
    assert.equal(matches('/a/**', '/ab/c'), false);
    assert.equal(matches('/**', '/x/y'), true);
    assert.equal(matches('/a/b', '/a/b'), true);
  });

  it('agrees with matches() for every pattern it produces and only those', () => {
    const channels = ['/a', '/a/b', '/a/b/c', '/x/y/z/w'];
    const patterns = ['/a', '/a/b', '/a/*', '/a/**', '/*', '/**', '/a/b/*', '/a/b/**', '/x/**', '/x/y/*', '/b/*'];
    for (const channel of channels) {
      const expanded = new Set(expand(channel));
      for (const pattern of patterns) assert.equal(expanded.has(pattern), matches(pattern, channel), `${pattern} vs ${channel}`);
    }
  });
});
