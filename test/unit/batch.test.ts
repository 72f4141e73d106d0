// Batch generation's pure rules: who may use it, its settings, and how a round is cut into files.
import assert from 'node:assert/strict';
import { test } from '@jest/globals';
import { parseExperimentConfig } from '../../core/config';
import { splitParts } from '../../lib/batch/files';
import { batchTestConfig } from '../support/batch-run';

test('config: batch mode needs an openai teacher; batch settings need batch mode', () => {
  const c = batchTestConfig({ dir: '/tmp/none', url: 'http://127.0.0.1:9/v1', name: 'cfg', mode: 'batch' });
  assert.equal(parseExperimentConfig(c).generate.mode, 'batch');
  assert.throws(
    () => parseExperimentConfig({ ...c, models: { teacher: { provider: 'replay', model: 'gpt-4' } } }),
    /generate\.mode: mode "batch" needs a teacher of provider "openai" \(a Batch API\); teacher "teacher" has provider "replay"/,
  );
  assert.throws(() => parseExperimentConfig({ ...c, generate: { ...c.generate, mode: 'sync' } }), /generate\.batch: batch settings apply only with generate\.mode: batch/);
  assert.throws(() => parseExperimentConfig({ ...c, generate: { ...c.generate, batch: { pollMinSeconds: 10, pollMaxSeconds: 5 } } }), /generate\.batch\.pollMaxSeconds: must be at least pollMinSeconds/);
});

test('a round splits into batch files within the per-file limits (requests, bytes); one request over the byte limit is refused by name', () => {
  const items = ['a'.repeat(10), 'b'.repeat(10), 'c'.repeat(30), 'd'.repeat(5)].map((line) => ({ line }));
  const sizes = (parts: Array<Array<{ line: string }>>) => parts.map((p) => p.map((i) => i.line[0]).join(''));
  assert.deepEqual(sizes(splitParts(items, { maxRequests: 2, maxBytes: 1000 })), ['ab', 'cd']);
  // Each line counts its newline: 11 + 11 = 22 bytes fit in 31; the 31-byte line does not fit after them and starts a new file.
  assert.deepEqual(sizes(splitParts(items, { maxRequests: 50, maxBytes: 31 })), ['ab', 'c', 'd']);
  assert.throws(() => splitParts(items, { maxRequests: 50, maxBytes: 25 }), /generate\.batch\.maxBytes: one request is 31 bytes, more than the limit of 25 per batch file/);
});
