/**
 * "HTTP errors are JSON" when the host parses bodies first (issue 12, item
 * 11): `express.json()` before the router fails on bad JSON before the router
 * runs; `server.errorHandler` answers those as Bayeux JSON on the endpoint.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import { rawPost } from '../helpers/raw-client.js';
import { startServer } from '../helpers/server.js';

describe('express.json() mounted before the router', () => {
  it('answers its bad-JSON failures as JSON with server.errorHandler, and leaves other paths to the host', async (t) => {
    const server = await startServer({}, { before: (app) => app.use(express.json()) });
    t.after(() => server.close());
    server.app.use('/cometd', server.bayeux.errorHandler);
    const bad = await rawPost(server.url, '[{"channel":', { raw: true });
    assert.equal(bad.status, 400);
    assert.match(bad.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal((bad.body as { type?: string }).type, 'entity.parse.failed');
    assert.equal((bad.body as { successful?: boolean }).successful, false);
    assert.match(String((bad.body as { error?: string }).error), /^400::/);

    const elsewhere = await rawPost(server.url.replace('/cometd', '/api'), '{', { raw: true });
    assert.equal(elsewhere.status, 400);
    assert.doesNotMatch(elsewhere.headers.get('content-type') ?? '', /^application\/json/, "the host's own error page");
  });
});
