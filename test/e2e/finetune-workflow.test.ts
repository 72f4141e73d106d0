// The fine-tune stage with backend "openai" on a real dev server, against a local server that speaks
// the fine-tuning API: the worker process is SIGKILLed while it follows the job, a new one takes
// over, and the experiment finishes with one upload and one job; cancelling cancels the remote job.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { TASK_QUEUE } from '../../core/ids';
import { FireActExperiment } from '../../workflows';
import { startFakeFineTuneServer, type FakeFineTuneServer } from '../../scripts/support/fake-finetune-server';
import { DATA_DIR, tempDir } from '../../scripts/support/paths';
import { startDevServer } from '../../scripts/support/temporal';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../../scripts/support/worker-process';

let env: TestWorkflowEnvironment;
let ft: FakeFineTuneServer;
let dir: string;
const workers: WorkerProcess[] = [];
const KEY_ENV = 'FIREACT_TEST_FT_KEY';

beforeAll(async () => {
  dir = await tempDir('ftwf');
  // A job of about a minute: long enough that only a cancel can end it early.
  ft = await startFakeFineTuneServer({ stepMs: 150, totalSteps: 400 });
  env = await startDevServer();
});

afterAll(async () => {
  for (const w of workers) await stopWorkerProcess(w);
  await env?.teardown();
  await ft?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

function config(name: string) {
  return {
    name,
    dataDir: DATA_DIR,
    artifactDir: path.join(dir, 'artifacts'),
    cacheDir: path.join(dir, 'cache'),
    models: { teacher: { provider: 'replay', model: 'gpt-4', replayFiles: ['hotpotqa'] } },
    generate: { teacher: 'teacher', tasks: [{ task: 'hotpotqa', split: 'fireact-react', methods: ['react'], sample: { n: 12 } }] },
    datasets: [{ name: 'hotpotqa', tasks: ['hotpotqa'], methods: ['react'] }],
    students: [{ name: 'gpt35', backend: 'openai', baseModel: 'gpt-3.5-turbo-0125', baseUrl: ft.url, apiKeyEnv: KEY_ENV, datasets: ['hotpotqa'], nEpochs: 2 }],
  };
}

const until = async (cond: () => boolean | Promise<boolean>, what: string, ms = 60_000) => {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) {
      const logs = await Promise.all(workers.map((w, i) => fs.readFile(path.join(dir, `w${i + 1}.log`), 'utf8').catch(() => '')));
      const jobs = ft.jobs().map((j) => `${j.id} ${j.status}`).join(', ') || 'none';
      throw new Error(`timed out after ${ms / 1000} s waiting for ${what}; uploads ${ft.uploads}, jobs: ${jobs}; worker logs:\n${logs.join('\n').slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
};

test('a worker killed while following the job: one upload, one job, the fine-tuned model reported', async () => {
  const workerEnv = { [KEY_ENV]: ft.apiKey };
  workers.push(startWorkerProcess(env.address, path.join(dir, 'w1.log'), workerEnv));
  const handle = await env.client.workflow.start(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId: 'ft-crash', args: [{ config: config('ftc') }] });

  // Kill once the job is running and has some events behind it. Before that: a cold worker process
  // (tsx, the workflow bundle), generate, curate, upload; 11 s with this file alone on the 2-core
  // machine, over the minute allowed before when files ran two at once under load.
  const t0 = Date.now();
  await until(() => ft.jobs().some((j) => j.status === 'running'), 'the job to run', 180_000);
  console.log(`finetune-workflow: the job ran ${((Date.now() - t0) / 1000).toFixed(1)} s after the experiment started`);
  await new Promise((r) => setTimeout(r, 1000));
  ft.setSpeed({ stepMs: 20 }); // the rest of the job, quickly, once the kill has landed
  workers[0].child.kill('SIGKILL');
  await workers[0].exited;
  workers.push(startWorkerProcess(env.address, path.join(dir, 'w2.log'), workerEnv));

  const result = await handle.result();
  assert.equal(ft.jobCreations, 1, 'exactly one fine-tuning job');
  assert.equal(ft.uploads, 1, 'exactly one upload');
  assert.equal(result.students.length, 1);
  assert.match(result.students[0].fineTunedModel, /^ft:gpt-3\.5-turbo-0125:/);
  assert.equal(result.students[0].jobId, ft.jobs()[0].id);
  assert.ok(result.report, 'the report was written');
}, 300_000);

test('cancelling the experiment cancels the remote fine-tuning job', async () => {
  if (!workers.some((w) => w.child.exitCode === null && w.child.signalCode === null)) {
    workers.push(startWorkerProcess(env.address, path.join(dir, `w${workers.length + 1}.log`), { [KEY_ENV]: ft.apiKey}));
  }
  const handle = await env.client.workflow.start(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId: 'ft-cancel', args: [{ config: config('ftx') }] });
  const earlier = new Set(ft.jobs().map((j) => j.id));
  const job = () => ft.jobs().find((j) => !earlier.has(j.id));
  await until(() => job()?.status === 'running', 'the new job to run');
  await handle.cancel();
  await assert.rejects(handle.result());
  await until(() => job()!.status === 'cancelled', 'the remote job to be cancelled', 30_000);
  assert.equal((await env.client.workflow.getHandle('ft-cancel/finetune/gpt35-hotpotqa').describe()).status.name, 'CANCELLED');
}, 120_000);
