// Generation through the Batch API against the local server, which speaks the Files and Batches
// protocol in compressed time, with in-process workers on a real dev server: the same datasets as a
// synchronous run, several parts per round, expired requests completed in the next round, the
// straggler rule, budget at the batch price, a refused batch, a resumed run, a cancelled one.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, test } from '@jest/globals';
import { TASK_QUEUE } from '../../core/ids';
import { parseExperimentConfig } from '../../core/config';
import { progressQuery } from '../../core/progress';
import { FireActExperiment } from '../../workflows';
import { createClientProvider } from '../../lib/experiment/clients';
import { planExperiment } from '../../lib/plan/plan';
import type { FakeBatchOptions } from '../../scripts/support/fake-batch-api';
import { fakeTeacher, startFakeOpenAIServer, type FakeOpenAIServer } from '../../scripts/support/fake-openai-server';
import { tempDir } from '../../scripts/support/paths';
import { startStack } from '../../scripts/support/temporal';
import { batchesOf as batchesAt, batchTestConfig, CORPUS_JSONL, oneShard, waitFor } from '../support/batch-run';

let model: FakeOpenAIServer;
let dir: string;
let stack: Awaited<ReturnType<typeof startStack>>;
const batchOpts: FakeBatchOptions = { validatingMs: 10, inProgressMs: 40, finalizingMs: 10 };

beforeAll(async () => {
  dir = await tempDir('batch');
  model = await startFakeOpenAIServer({ behaviour: fakeTeacher({ searchFirst: true }), batch: batchOpts });
  await fs.writeFile(path.join(dir, 'corpus.jsonl'), CORPUS_JSONL);
  stack = await startStack();
});

afterAll(async () => {
  await stack?.stop();
  await model?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const config = (name: string, mode: 'sync' | 'batch', batch: Record<string, unknown> = {}) => batchTestConfig({ dir, url: model.url, name, mode, batch });
const completions = () => model.requests.filter((r) => r.requestNumber > 0).length;
const batchesOf = (exp: string) => batchesAt(model, exp);
const run = (id: string, cfg: unknown) => stack.env.client.workflow.execute(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId: id, args: [{ config: cfg }] });

async function datasetFiles(exp: string, name: string): Promise<{ chat: string; alpaca: string }> {
  const d = path.join(dir, name, 'artifacts', exp, 'datasets', 'all');
  return { chat: await fs.readFile(path.join(d, 'train.openai.jsonl'), 'utf8'), alpaca: await fs.readFile(path.join(d, 'train.alpaca.json'), 'utf8') };
}

test('plan: batch mode costs the batch price, shown beside the synchronous cost; the budget reserves the batch price', async () => {
  const plans = await Promise.all(
    (['sync', 'batch'] as const).map((mode) =>
      planExperiment(parseExperimentConfig({ ...config(`plan-${mode}`, mode), models: { teacher: { provider: 'openai', model: 'gpt-4o', apiKeyEnv: 'PLAN_KEY' } } }), createClientProvider({}), {
        env: { PLAN_KEY: 'sk-test' },
      }),
    ),
  );
  const [sync, batch] = plans;
  assert.deepEqual(batch.problems, []);
  const close = (a: number, b: number) => Math.abs(a - b) < 1e-9;
  assert.ok(batch.totals.costUsd.typical > 0);
  assert.ok(close(batch.totals.costUsd.typical, sync.totals.costUsd.typical / 2));
  assert.ok(close(batch.totals.costUsd.upper, sync.totals.costUsd.upper / 2));
  for (const [i, r] of batch.runs.entries()) assert.ok(close(r.reservation.usd, sync.runs[i].reservation.usd / 2), r.method);
  assert.deepEqual(batch.models[0].batch, { discount: 0.5, syncCostUsd: sync.models[0].costUsd });
  assert.equal(sync.models[0].batch, undefined);

});

test('a 3-task x 2-method batch run makes the datasets a synchronous run makes, without one synchronous call', async () => {
  const sync = await run('sync-run', config('sync', 'sync'));
  const before = completions();
  const t0 = Date.now();
  const batch = await run('batch-run', config('batch', 'batch'));
  const wallSeconds = (Date.now() - t0) / 1000;
  assert.equal(completions(), before, 'the batch run sent no /chat/completions request');
  assert.deepEqual(await datasetFiles('batch-run', 'batch'), await datasetFiles('sync-run', 'sync'));
  assert.equal(batch.curate.kept, sync.curate.kept);
  assert.ok(batch.curate.kept > 0);
  const made = batchesOf('batch-run');
  // 6 shards (3 tasks x 2 methods), two rounds each: react searches, then finishes; cot's first
  // reply (a search) is unusable, so it is re-asked with a nudge, as a synchronous run does.
  assert.equal(made.length, 12);
  assert.ok(made.every((b) => b.status === 'completed'));
  assert.deepEqual(batch.generate.batch, { batches: 12, rounds: 12, requests: 36, failedRequests: 0, syncEpisodes: 0 });
  // Same usage as the synchronous run: every call counted as paid once, none as cached.
  assert.equal(batch.generate.calls, sync.generate.calls);
  assert.equal(batch.generate.cachedCalls, 0);
  // Answers are shared with the synchronous path: a batch run over the synchronous run's cache sends nothing.
  const again = await run('batch-again', { ...config('batch-again', 'batch'), cacheDir: path.join(dir, 'sync', 'cache') });
  assert.equal(batchesOf('batch-again').length, 0);
  assert.equal(completions(), before);
  assert.equal(again.generate.cachedCalls, sync.generate.calls);
  assert.deepEqual(await datasetFiles('batch-again', 'batch-again'), await datasetFiles('sync-run', 'sync'));
  // The report prices the batch at half and shows what synchronous calls would have cost.
  const report = await fs.readFile(path.join(dir, 'batch', 'artifacts', 'batch-run', 'report', 'report.md'), 'utf8');
  assert.match(report, /generate by teacher went through the Batch API: 12 batches over 12 shard rounds, 36 requests \(0 asked again after an expiry or error\), priced at 50% of the list price: \$[\d.]+; the same calls made synchronously would have cost \$[\d.]+\./);
  console.log(`batch: ${made.length} batches over ${batch.generate.batch!.rounds} shard rounds (2 per shard), ${batch.generate.batch!.requests} requests, ${wallSeconds.toFixed(1)} s wall`);
});

test('a round larger than maxRequests goes out as several batches, one key each', async () => {
  const base = config('parts', 'batch', { maxRequests: 2 });
  const r = await run('parts-run', oneShard(base, 'cot', 3));
  const keys = batchesOf('parts-run').map((b) => [b.metadata?.fireact_key?.replace(/\/[0-9a-f]{16}$/, ''), b.request_counts.total]);
  assert.deepEqual(keys, [
    ['parts-run/hotpotqa-test-cot-0/round-1/part-0', 2],
    ['parts-run/hotpotqa-test-cot-0/round-1/part-1', 1],
    ['parts-run/hotpotqa-test-cot-0/round-2/part-0', 2],
    ['parts-run/hotpotqa-test-cot-0/round-2/part-1', 1],
  ]);
  assert.equal(r.curate.total, 3);
  assert.equal(r.curate.drops.missing ?? 0, 0);
});

test('an expired batch: its answered lines are kept, the rest are asked in the next round', async () => {
  // The first batch of this run expires after one answer.
  const first = model.batchApi.batches.length + 1;
  batchOpts.script = (n) => (n === first ? { end: 'expired', answered: 1 } : undefined);
  try {
    const r = await run('expire-run', oneShard(config('expire', 'batch'), 'cot', 3));
    const made = batchesOf('expire-run');
    assert.deepEqual(
      made.map((b) => [b.status, b.request_counts.total]),
      // Round 2: the answered episode's next request and the two expired ones again; round 3: the rest.
      [
        ['expired', 3],
        ['completed', 3],
        ['completed', 2],
      ],
    );
    assert.equal(r.curate.total, 3);
    assert.equal(r.curate.drops.missing ?? 0, 0);
    assert.equal(r.generate.batch!.failedRequests, 2);
  } finally {
    batchOpts.script = undefined;
  }
});

test('the straggler rule finishes the episodes open after round K synchronously; answers already cached are not sent again', async () => {
  const before = completions();
  // react's first round goes in a batch; after round 1 the open episodes finish synchronously.
  const cfg = config('straggle', 'batch', { syncAfterRound: 1 });
  const r = await run('straggle-run', oneShard(cfg, 'react', 3));
  assert.equal(r.generate.batch!.rounds, 1);
  assert.equal(r.generate.batch!.syncEpisodes, 3);
  // Only the stragglers' second turns went synchronously; the first turns came from the cache the batch filled.
  assert.equal(completions() - before, 3);
  assert.equal(r.curate.total, 3);
  assert.equal(r.curate.drops.missing ?? 0, 0);
});

test('with a budget, each episode reserves and pays the batch price: a cap at plan\'s batch upper bound never pauses', async () => {
  const base = config('budget', 'batch');
  const cfg = oneShard(base, 'react', 3);
  const plan = await planExperiment(parseExperimentConfig(cfg), createClientProvider({}), { env: {} });
  // At list price the same reservations would need twice this cap.
  const capUsd = plan.totals.costUsd.upper * 1.001;
  const handle = await stack.env.client.workflow.start(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId: 'budget-run', args: [{ config: { ...cfg, budget: { usd: capUsd } } }] });
  const r = await handle.result();
  assert.equal(r.curate.total, 3);
  assert.equal(r.curate.drops.missing ?? 0, 0);
  const budget = (await handle.query(progressQuery)).budget!;
  assert.equal(budget.paused, false);
  // What the ledger booked is the batch price of what the episodes paid, as the report prices it.
  const report = await fs.readFile(path.join(dir, 'budget', 'artifacts', 'budget-run', 'report', 'report.md'), 'utf8');
  const reported = Number(/priced at 50% of the list price: \$([\d.]+)/.exec(report)![1]);
  assert.ok(budget.spentUsd > 0 && budget.spentUsd <= capUsd);
  assert.ok(Math.abs(budget.spentUsd - reported) < 0.01, `${budget.spentUsd} vs ${reported}`);
});

test('a batch the provider refuses stops the shard with its reasons', async () => {
  const first = model.batchApi.batches.length + 1;
  batchOpts.script = (n) => (n === first ? { end: 'failed' } : undefined);
  try {
    const base = config('refused', 'batch');
    const cfg = oneShard(base, 'cot', 2);
    await assert.rejects(run('refused-run', cfg), (err: unknown) => {
      const messages: string[] = [];
      for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) messages.push(e.message ?? '');
      assert.match(messages.join(' | '), /batch batch_fake_\d+ \(refused-run\/hotpotqa-test-cot-0\/round-1\/part-0\/[0-9a-f]{16}\) was refused by the provider: the input file was refused/);
      return true;
    });
    assert.equal(batchesOf('refused-run').length, 1, 'no second batch after a refusal');
  } finally {
    batchOpts.script = undefined;
  }
});

test('a run resumed from a terminated one (resume --new) picks up the batch it left open', async () => {
  batchOpts.inProgressMs = 3000;
  try {
    const base = config('resume', 'batch');
    const cfg = oneShard(base, 'cot', 2);
    const first = await stack.env.client.workflow.start(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId: 'resume-run', args: [{ config: cfg }] });
    await waitFor(() => batchesOf('resume-run').some((b) => b.status === 'in_progress'), 'the batch to run');
    await first.terminate('worker machine lost');
    const r = await stack.env.client.workflow.execute(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId: 'resume-run-2', args: [{ config: cfg, artifactsOf: 'resume-run' }] });
    assert.equal(r.curate.total, 2);
    assert.equal(r.curate.drops.missing ?? 0, 0);
    const made = batchesOf('resume-run');
    // Round 1's batch is the one the terminated run made; only round 2 is new.
    assert.equal(made.filter((b) => b.metadata?.fireact_key?.includes('/round-1/')).length, 1);
    assert.equal(made.length, 2);
  } finally {
    batchOpts.inProgressMs = 40;
  }
});

test('cancelling the experiment cancels its open batch', async () => {
  batchOpts.inProgressMs = 60_000;
  try {
    const cfg = config('cancel', 'batch');
    const handle = await stack.env.client.workflow.start(FireActExperiment, {
      taskQueue: TASK_QUEUE,
      workflowId: 'cancel-run',
      args: [{ config: oneShard(cfg, 'cot', 2) }],
    });
    await waitFor(() => batchesOf('cancel-run').some((b) => b.status === 'in_progress'), 'the batch to run');
    await handle.cancel();
    await assert.rejects(handle.result());
    await waitFor(() => batchesOf('cancel-run').every((b) => b.status === 'cancelled'), 'the batch to be cancelled');
    assert.equal(batchesOf('cancel-run').length, 1);
  } finally {
    batchOpts.inProgressMs = 40;
  }
});
