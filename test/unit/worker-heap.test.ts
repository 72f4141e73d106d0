// Every way of starting a worker process carries the heap ceiling (workers/heap.ts), and the flag
// really sets V8's limit (a misspelt flag would be ignored by nothing and fail here).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from '@jest/globals';
import { WORKER_HEAP_MIB, WORKER_NODE_FLAGS } from '../../workers/heap';

const ROOT = path.resolve(__dirname, '../..');

test('npm run worker starts the worker with the heap ceiling', () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const args = pkg.scripts.worker.split(/\s+/);
  assert.equal(args[0], 'node');
  for (const flag of WORKER_NODE_FLAGS) assert.ok(args.includes(flag), `package.json "worker" lacks ${flag}: ${pkg.scripts.worker}`);
  assert.ok(args.indexOf('workers/main.ts') > args.indexOf(WORKER_NODE_FLAGS[0]), 'the flag must come before the script');
});

test('the flags set V8 old-space limit to the ceiling', () => {
  const out = execFileSync(process.execPath, [...WORKER_NODE_FLAGS, '-e', 'process.stdout.write(String(require("v8").getHeapStatistics().heap_size_limit))'], {
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const limitMiB = Number(out.toString()) / 2 ** 20;
  // heap_size_limit is old space plus the young generation's reservation (tens of MiB).
  assert.ok(limitMiB >= WORKER_HEAP_MIB && limitMiB < WORKER_HEAP_MIB + 128, `heap limit ${limitMiB} MiB for a ${WORKER_HEAP_MIB} MiB ceiling`);
});
