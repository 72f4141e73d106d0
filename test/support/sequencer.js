// Order of the test files: longest first, so that the two files running at once (maxWorkers in
// jest.config.js) finish close together instead of one long file starting last. Jest's own order
// needs timings from an earlier run (a fresh clone has none, and falls back to file size).
// Seconds per file, measured one file at a time on a quiet 2-core machine; unlisted files take
// under 10 s and run after these, in jest's order.
'use strict';
const path = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;

const SECONDS = {
  'e2e/trainer': 158,
  'chaos/worker-kill': 120,
  'e2e/stuck': 108,
  'e2e/temporal-cli': 98,
  'chaos/trainer-kill': 83,
  'e2e/bad-input': 80,
  'e2e/finetune-local': 79,
  'e2e/gpu-check': 73,
  'e2e/budget': 59,
  'e2e/finetune-workflow': 58,
  'e2e/crash': 48,
  'e2e/batch-crash': 45,
  'e2e/cli': 45,
  'chaos/model-faults': 44,
  'chaos/temporal-restart': 40,
  'workflow/batch': 33,
  'workflow/scale': 32,
  'e2e/resume': 27,
  'chaos/search-faults': 23,
  'e2e/plan': 22,
  'chaos/unwritable': 21,
  'unit/episode-chunks': 15,
  'workflow/roundtrip': 14,
  'e2e/gpu-memory': 13,
  'workflow/replay': 11,
  'e2e/secrets': 11,
};

const seconds = (test) => {
  const rel = path.relative(path.join(test.context.config.rootDir, 'test'), test.path).replace(/\.test\.ts$/, '');
  return SECONDS[rel.split(path.sep).join('/')] ?? 0;
};

class LongestFirst extends Sequencer {
  sort(tests) {
    const byJest = super.sort(tests);
    const rank = new Map(byJest.map((t, i) => [t.path, i]));
    return [...tests].sort((a, b) => seconds(b) - seconds(a) || rank.get(a.path) - rank.get(b.path));
  }
}

module.exports = LongestFirst;
