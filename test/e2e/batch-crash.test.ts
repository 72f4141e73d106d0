// Batch generation end to end: the worker as its own process, SIGKILLed while the server holds a
// batch's create response open (the batch exists, the workflow has not recorded it), and `fireact
// plan` showing batch pricing as a user reads it.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { TASK_QUEUE } from '../../core/ids';
import { FireActExperiment } from '../../workflows';
import type { FakeBatchOptions } from '../../scripts/support/fake-batch-api';
import { fakeTeacher, startFakeOpenAIServer, type FakeOpenAIServer } from '../../scripts/support/fake-openai-server';
import { tempDir } from '../../scripts/support/paths';
import { startDevServer } from '../../scripts/support/temporal';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../../scripts/support/worker-process';
import { runFireact } from '../support/cli';
import { batchesOf as batchesAt, batchTestConfig, CORPUS_JSONL, oneShard, waitFor } from '../support/batch-run';

let model: FakeOpenAIServer;
let dir: string;
let env: TestWorkflowEnvironment;
const workers: WorkerProcess[] = [];
const batchOpts: FakeBatchOptions = { validatingMs: 10, inProgressMs: 40, finalizingMs: 10 };

beforeAll(async () => {
  dir = await tempDir('batch-crash');
  model = await startFakeOpenAIServer({ behaviour: fakeTeacher({ searchFirst: true }), batch: batchOpts });
  await fs.writeFile(path.join(dir, 'corpus.jsonl'), CORPUS_JSONL);
  env = await startDevServer();
});

afterAll(async () => {
  for (const w of workers) await stopWorkerProcess(w);
  await env?.teardown();
  await model?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const config = (name: string, mode: 'sync' | 'batch') => batchTestConfig({ dir, url: model.url, name, mode });
const batchesOf = (exp: string) => batchesAt(model, exp);

test('plan shows the batch price beside what synchronous calls would cost', async () => {
  const file = path.join(dir, 'plan-batch.json');
  await fs.writeFile(file, JSON.stringify({ ...config('plan-cli', 'batch'), models: { teacher: { provider: 'openai', model: 'gpt-4o', apiKeyEnv: 'PLAN_KEY' } } }));
  const cli = await runFireact(['plan', file], '', { PLAN_KEY: 'sk-test' });
  assert.equal(cli.code, 0, cli.err);
  assert.match(cli.out, /teacher teacher \(gpt-4o\): ~\$[\d.]+ \(≤ \$[\d.]+\) through the Batch API \(50% of gpt-4o list prices\); synchronous calls would cost ~\$[\d.]+ \(≤ \$[\d.]+\)/);
});

test('SIGKILL of the worker between create and record makes one batch, not two', async () => {
  // The server makes the batch, then holds the create response until the worker is dead.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let holds = 0;
  batchOpts.onCreate = (b) => {
    if (!b.metadata?.fireact_key?.startsWith('kill-run/') || holds++ > 0) return undefined;
    return held;
  };
  try {
    workers.push(startWorkerProcess(env.address, path.join(dir, 'worker-1.log')));
    const cfg = config('kill', 'batch');
    const handle = await env.client.workflow.start(FireActExperiment, {
      taskQueue: TASK_QUEUE,
      workflowId: 'kill-run',
      args: [{ config: oneShard(cfg, 'cot', 3) }],
    });
    await waitFor(() => batchesOf('kill-run').length === 1, 'the batch to exist', 120_000);
    workers[0].child.kill('SIGKILL');
    await workers[0].exited;
    release();
    workers.push(startWorkerProcess(env.address, path.join(dir, 'worker-2.log')));
    const r = await handle.result();
    const keys = batchesOf('kill-run').map((b) => b.metadata?.fireact_key);
    // cot takes two rounds here (a nudge after an unusable first reply): one batch each.
    assert.deepEqual(
      keys.map((k) => k?.replace(/\/[0-9a-f]{16}$/, '/<sha>')),
      ['kill-run/hotpotqa-test-cot-0/round-1/part-0/<sha>', 'kill-run/hotpotqa-test-cot-0/round-2/part-0/<sha>'],
      'the retry found the batch by its key',
    );
    // One input file per batch too: the retry did not upload it again.
    assert.equal([...model.batchApi.files.values()].filter((f) => f.purpose === 'batch' && f.filename.startsWith('kill-run')).length, 2);
    assert.equal(r.curate.total, 3);
    assert.equal(r.curate.drops.missing ?? 0, 0);
  } finally {
    batchOpts.onCreate = undefined;
    release();
  }
});
