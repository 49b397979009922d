import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONTRACT_LIMITS, engineContract, RecordingHost } from '../../lib/engines/contract.js';
import { memoryEngine } from '../../lib/index.js';

engineContract('memory', () => memoryEngine());

describe('memory engine', () => {
  it('serves one server only', async () => {
    const engine = memoryEngine();
    await engine.open(new RecordingHost(CONTRACT_LIMITS));
    await assert.rejects(engine.open(new RecordingHost(CONTRACT_LIMITS)), /one server/);
    await engine.close();
  });

  it('checks its options', () => {
    assert.throws(() => memoryEngine({ sweepInterval: 0 }), /sweepInterval/);
  });
});
