// A run that cannot progress says why. Against a real dev server: with no worker, `start` and `status`
// say so at once; a model endpoint refusing connections shows up in `status` with the activity, attempt
// and last error within seconds, pauses the stage as `blocked` after the configured time, and goes on
// after the endpoint is back and `fireact resume`, asking each question once. Fine-tuning shows its
// steps, loss, speed and ETA; a cancelled run reads as cancelled. Failures no retry can heal (the
// trainer's empty training set, a non-http URL, a path the file system refuses) are non-retryable.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, test } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import YAML from 'yaml';
import { BLOCKED_STAGE } from '../../core/blocked';
import { StudentSchema } from '../../core/config';
import { ErrorType } from '../../core/errors';
import { STAGE_SEARCH_KEY } from '../../core/ids';
import { progressQuery } from '../../core/progress';
import { createArtifactStore } from '../../lib/artifacts/store';
import { createContentCache } from '../../lib/cache/content-cache';
import { createLocalFineTuneActivities } from '../../activities/finetune-local';
import { createTrainerPythonResolver } from '../../lib/finetune/local/trainer-process';
import { createOpenAIModel } from '../../lib/models/openai-model';
import { inspectExperiment } from '../../scripts/cli/inspect';
import { activityLines, trainingLine } from '../../scripts/cli/render';
import { createFireactWorkers } from '../../workers/fireact-worker';
import { runFireact } from '../support/cli';
import { fakeTeacher, startFakeOpenAIServer, type FakeOpenAIServer } from '../../scripts/support/fake-openai-server';
import { DATA_DIR, tempDir } from '../../scripts/support/paths';
import { startDevServer, workflowBundle } from '../../scripts/support/temporal';
import type { ExperimentResult } from '../../activities/contracts';

let env: TestWorkflowEnvironment;
let dir: string;
let workers: Worker[] = [];
let running: Promise<unknown> | undefined;
let fake: FakeOpenAIServer | undefined;
/** While this file exists, the workers' trainer crashes at once (as on a broken GPU). */
let trainerBroken: string;

beforeAll(async () => {
  dir = await tempDir('stuck');
  env = await startDevServer();
  // The workers run the trainer through a wrapper that can be made to crash, then mended.
  const python = await createTrainerPythonResolver()();
  trainerBroken = path.join(dir, 'trainer-broken');
  const wrapper = path.join(dir, 'python');
  await fs.writeFile(wrapper, `#!/bin/sh\nif [ -e '${trainerBroken}' ]; then echo 'RuntimeError: CUDA error: an illegal memory access was encountered' >&2; exit 1; fi\nexec '${python}' "$@"\n`, { mode: 0o755 });
  process.env.FIREACT_TRAINER_PYTHON = wrapper;
});

afterAll(async () => {
  for (const w of workers) w.shutdown();
  await running;
  await env?.teardown();
  await fake?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const fireact = (args: string[]) => runFireact(args, env.address);

async function startWorkers(): Promise<void> {
  workers = await createFireactWorkers({ connection: env.nativeConnection, worker: { workflowBundle: await workflowBundle() } });
  running = Promise.all(workers.map((w) => w.run()));
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A port nothing listens on (taken from the OS, then released). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function writeConfig(name: string, fields: Record<string, unknown>): Promise<string> {
  const file = path.join(dir, `${name}.yaml`);
  await fs.writeFile(
    file,
    YAML.stringify({
      name,
      dataDir: DATA_DIR,
      artifactDir: path.join(dir, 'artifacts'),
      cacheDir: path.join(dir, 'cache'),
      models: { teacher: { provider: 'replay', model: 'gpt-4', replayFiles: ['hotpotqa'] } },
      generate: { teacher: 'teacher', tasks: [{ task: 'hotpotqa', split: 'fireact-react', methods: ['react'], sample: { n: 4 } }], shardSize: 4 },
      datasets: [{ name: 'hotpotqa', tasks: ['hotpotqa'], methods: ['react'] }],
      ...fields,
    }),
  );
  return file;
}

// Runs first, before any worker has polled this server.
test('with no worker, start and status say so at once and how to start one', async () => {
  const file = await writeConfig('noworker', {});
  const start = await fireact(['start', file, '--id', 'noworker-1']);
  assert.equal(start.code, 0, start.err);
  assert.match(start.out, /warning: no worker polls task queue "fireact": start one with `npm run worker` \(both queues\), or `FIREACT_QUEUES=fireact npm run worker`/);

  const t0 = Date.now();
  const status = await fireact(['status', 'noworker-1']);
  const seconds = (Date.now() - t0) / 1000;
  assert.equal(status.code, 0, status.err);
  assert.match(status.out, /noworker-1: RUNNING/);
  assert.match(status.out, /no progress: no worker polls "fireact" to answer the progress query/);
  assert.match(status.out, /no worker polls task queue "fireact"/);
  // The query is not asked (the line above says why, and is printed only instead of asking it), so
  // nothing waits for a query timeout: no "got no answer within" line.
  assert.doesNotMatch(status.out, /got no answer within/);
  console.log(`status with no worker: ${seconds.toFixed(1)} s`);
  await env.client.workflow.getHandle('noworker-1').terminate('test: no worker');
}, 60_000);

const TINY_STUDENT = { name: 'tiny', backend: 'local', baseModel: 'init', init: { hidden: 32, layers: 1, heads: 2 }, mode: 'full', datasets: ['hotpotqa'], batchSize: 2, maxLen: 256 };

test('with no GPU worker, start and status name the "fireact-gpu" queue the run waits on', async () => {
  const cpu = await createFireactWorkers({ connection: env.nativeConnection, queues: ['fireact'], worker: { workflowBundle: await workflowBundle() } });
  const cpuRunning = Promise.all(cpu.map((w) => w.run()));
  try {
    const file = await writeConfig('nogpu', { students: [TINY_STUDENT] });
    const start = await fireact(['start', file, '--id', 'nogpu-1']);
    assert.equal(start.code, 0, start.err);
    assert.match(start.out, /warning: no worker polls task queue "fireact-gpu": start one with `npm run worker` \(both queues\), or `FIREACT_QUEUES=fireact-gpu npm run worker`/);
    // The stage reads fine-tune a moment before its child schedules the training activity on the
    // GPU queue: wait for the warning (the until fails the test if it never comes), not the stage alone.
    const status = await until('status to name the GPU queue the run waits on', async () => {
      const s = await fireact(['status', 'nogpu-1']);
      return /stage: fine-tune/.test(s.out) && /no worker polls task queue "fireact-gpu"/.test(s.out) ? s.out : undefined;
    });
    assert.doesNotMatch(status, /polls task queue "fireact"[^-]/);
    await env.client.workflow.getHandle('nogpu-1').terminate('test: no GPU worker');
  } finally {
    for (const w of cpu) w.shutdown();
    await cpuRunning;
  }
}, 120_000);

test('a refused model endpoint shows within seconds, pauses as blocked, and goes on after resume', async () => {
  await startWorkers();
  const port = await closedPort();
  const file = await writeConfig('refused', {
    models: { teacher: { provider: 'openai', model: 'gpt-4o-mini', baseUrl: `http://127.0.0.1:${port}/v1` } },
    generate: { teacher: 'teacher', tasks: [{ task: 'hotpotqa', split: 'fireact-react', methods: ['cot'], sample: { n: 3 } }], shardSize: 3, episodeConcurrency: 3 },
    // A mix of what is generated (a react-only mix would be empty, which start refuses).
    datasets: [{ name: 'hotpotqa', tasks: ['hotpotqa'], methods: ['cot'] }],
    // The fake teacher's answers are not the gold ones; keep its trajectories anyway.
    curate: { requireSuccess: false },
    blockedAfterSeconds: 12,
  });
  const t0 = Date.now();
  assert.equal((await fireact(['start', file, '--id', 'refused-1'])).code, 0);

  // The server knows after the first attempt (five in-call tries with back-off); printed, not asserted.
  await until('the server to report the failing episode', async () => {
    const v = await inspectExperiment(env.client, 'refused-1');
    return v.activities.some((a) => a.attempt > 1 && a.lastFailure) || undefined;
  });
  console.log(`failing activity known to the server ${((Date.now() - t0) / 1000).toFixed(1)} s after start`);
  // status names the stage, the shard, the activity, its attempt, the next try and the error.
  const seen = await until('status showing the failing episode', async () => {
    const s = await fireact(['status', 'refused-1']);
    return /retrying refused-1\/generate\/hotpotqa-fireact-react-cot-0 runEpisodes/.test(s.out) ? s.out : undefined;
  });
  const shownAfter = (Date.now() - t0) / 1000;
  console.log(`failing activity shown by status ${shownAfter.toFixed(1)} s after start`);
  assert.match(seen, /stage: generate/);
  assert.match(seen, /attempt \d+ of 50/);
  assert.match(seen, /last error \(ModelUnavailable\): model "teacher" \(gpt-4o-mini at http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions\) failed after 5 attempts: connection failed/);

  // After blockedAfterSeconds with no progress the stage pauses as blocked, with the reason.
  const handle = env.client.workflow.getHandle('refused-1');
  const blocked = await until('blocked', async () => (await handle.query(progressQuery)).blocked);
  console.log(`blocked ${((Date.now() - t0) / 1000).toFixed(1)} s after start (blockedAfterSeconds: 12)`);
  assert.equal(blocked.stage, 'generate');
  assert.equal(blocked.workflowId, 'refused-1/generate/hotpotqa-fireact-react-cot-0');
  assert.equal(blocked.activity, 'runEpisodes');
  assert.match(blocked.lastError, /connection failed/);
  assert.equal((await handle.describe()).typedSearchAttributes.get(STAGE_SEARCH_KEY), BLOCKED_STAGE);
  // The UI shows the reason on the workflow's page (its current details).
  const meta = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  assert.match(meta.currentDetails ?? '', /^\*\*Blocked\*\* in stage generate: refused-1\/generate\/hotpotqa-fireact-react-cot-0: runEpisodes made no progress for \d+s \(attempt \d+\); last error: .*connection failed/);
  const status = await fireact(['status', 'refused-1']);
  assert.match(status.out, /stage: generate \(BLOCKED: resume with `npx fireact resume refused-1`\)/);
  assert.match(status.out, /blocked since .* in stage generate, refused-1\/generate\/hotpotqa-fireact-react-cot-0, activity runEpisodes/);
  assert.match(status.out, /last error: .*connection failed/);
  assert.equal((await handle.describe()).status.name, 'RUNNING');

  fake = await startFakeOpenAIServer({ port, behaviour: fakeTeacher() });
  const resumed = await fireact(['resume', 'refused-1']);
  assert.equal(resumed.code, 0, resumed.err);
  assert.match(resumed.out, /resumed refused-1: stage "generate" runs its blocked work again/);
  const r = (await handle.result()) as ExperimentResult;
  assert.equal(r.episodes, 3);
  assert.equal(r.generate.failed, 0);
  assert.equal(r.curate.total, 3);
  // Each question reached the model once: nothing finished before is asked again.
  const questions = fake.requests.filter((q) => q.path.endsWith('/chat/completions')).map((q) => JSON.stringify(q.body));
  assert.equal(new Set(questions).size, questions.length);
  assert.equal((await handle.describe()).typedSearchAttributes.get(STAGE_SEARCH_KEY), 'done');

  const again = await fireact(['resume', 'refused-1']);
  assert.equal(again.code, 1);
  assert.match(again.err, /refused-1 is COMPLETED; nothing to resume/);
}, 180_000);

test('fine-tuning shows step, loss, tokens/s and ETA; a cancelled run reads as cancelled', async () => {
  if (!workers.length) await startWorkers();
  const file = await writeConfig('train', {
    generate: { teacher: 'teacher', tasks: [{ task: 'hotpotqa', split: 'fireact-react', methods: ['react'], sample: { n: 12 } }], shardSize: 12 },
    students: [{ ...TINY_STUDENT, maxSteps: 2000, saveEvery: 500 }],
  });
  assert.equal((await fireact(['start', file, '--id', 'train-1'])).code, 0);
  const line = await until(
    'training progress from the server',
    async () => {
      const v = await inspectExperiment(env.client, 'train-1');
      const a = v.activities.find((x) => x.activityType === 'trainLocal' && trainingLine(x.details)?.includes('ETA'));
      return a && trainingLine(a.details);
    },
    180_000,
  );
  assert.match(line!, /^step \d+\/2000 \(\d+%\), loss \d+\.\d{4}, [\d,]+ tokens\/s, ETA \d+/);
  const status = await fireact(['status', 'train-1']);
  assert.match(status.out, /stage: fine-tune/);
  assert.match(status.out, /training train-1\/finetune\/tiny-hotpotqa trainLocal: step \d+\/2000/);

  assert.equal((await fireact(['cancel', 'train-1'])).code, 0);
  const watched = await fireact(['watch', 'train-1']);
  assert.equal(watched.code, 1);
  assert.match(watched.err, /experiment train-1 was cancelled; finished work is kept \(continue it with: npx fireact resume train-1\)/);
  assert.doesNotMatch(watched.err, /failed/);
  const handle = env.client.workflow.getHandle('train-1');
  assert.equal((await handle.describe()).status.name, 'CANCELLED');
  assert.equal((await handle.describe()).typedSearchAttributes.get(STAGE_SEARCH_KEY), 'cancelled');
  const after = await fireact(['status', 'train-1']);
  assert.match(after.out, /train-1: CANCELLED/);
  assert.match(after.out, /fine-tune .* cancelled/);
}, 240_000);

test('a trainer that keeps crashing blocks the fine-tune stage, which goes on after resume', async () => {
  if (!workers.length) await startWorkers();
  await fs.writeFile(trainerBroken, '');
  const file = await writeConfig('crash', { students: [{ ...TINY_STUDENT, maxSteps: 4 }], blockedAfterSeconds: 5 });
  assert.equal((await fireact(['start', file, '--id', 'crash-1'])).code, 0);
  const handle = env.client.workflow.getHandle('crash-1');
  const blocked = await until('the fine-tune stage to block', async () => (await handle.query(progressQuery)).blocked, 180_000);
  assert.equal(blocked.stage, 'fine-tune');
  assert.equal(blocked.workflowId, 'crash-1/finetune/tiny-hotpotqa');
  assert.equal(blocked.activity, 'trainLocal');
  assert.match(blocked.lastError, /^init-model tiny exited with 1: RuntimeError: CUDA error: an illegal memory access was encountered/);
  assert.ok((blocked.attempt ?? 0) >= 2 && (blocked.attempt ?? 0) < 100, `blocked at attempt ${blocked.attempt}`);

  await fs.rm(trainerBroken);
  const resumed = await fireact(['resume', 'crash-1']);
  assert.equal(resumed.code, 0, resumed.err);
  assert.match(resumed.out, /resumed crash-1: stage "fine-tune" runs its blocked work again/);
  const r = (await handle.result()) as ExperimentResult;
  assert.equal(r.students.length, 1);
  assert.equal(r.students[0].steps, 4);
}, 240_000);

test('a training run resumed from a checkpoint says so', () => {
  const line = trainingLine({ what: 'train', event: 'step', step: 30, total_steps: 60, loss: 1.5, tokens_per_second: 1234.5, elapsed: 15, resumedFrom: 20 });
  assert.equal(line, 'step 30/60 (50%), loss 1.5000, 1,235 tokens/s, ETA 15s, resumed from checkpoint 20');
  const lines = activityLines(
    [
      {
        workflowId: 'x/finetune/s-m',
        activityId: '1',
        activityType: 'followOpenAIFineTune',
        state: 'started',
        attempt: 1,
        maximumAttempts: 100,
        taskQueue: 'fireact',
        details: { jobId: 'ftjob-1', status: 'running', lastCheckpointStep: 10, last: 'info: Step 12/40: training loss=0.52' },
      },
    ],
    0,
  );
  assert.deepEqual(lines, ['  training x/finetune/s-m followOpenAIFineTune: job ftjob-1 running, checkpoint at step 10; info: Step 12/40: training loss=0.52']);
});

test('failures no retry can heal are non-retryable and say what is wrong', async () => {
  // The trainer finding no examples: one attempt, not a hundred.
  const empty = path.join(dir, 'empty.jsonl');
  await fs.writeFile(empty, '');
  const python = createTrainerPythonResolver();
  const { trainLocal } = createLocalFineTuneActivities({ python });
  const student = StudentSchema.parse({ name: 's', backend: 'local', baseModel: 'init', init: { hidden: 32, layers: 1, heads: 2 }, mode: 'full', datasets: ['d'], maxSteps: 2 });
  const run = new MockActivityEnvironment().run(trainLocal, { student, datasetName: 'd', datasetPath: empty, baseDir: path.join(dir, 'e-base'), outDir: path.join(dir, 'e-out') });
  await assert.rejects(run, (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure);
    assert.ok(err.nonRetryable);
    assert.equal(err.type, ErrorType.TrainerBadInput);
    assert.equal(err.message, `train s on d: ${empty}: no examples`);
    return true;
  });

  // A baseUrl that is not http(s): refused when the model is built, naming the model and the scheme.
  assert.throws(
    () => createOpenAIModel({ name: 'teacher', config: { provider: 'openai', model: 'm', baseUrl: 'ftp://127.0.0.1/v1', maxConcurrency: 1, temperature: 0, maxTokens: 8, timeoutMs: 1000 }, cache: createContentCache(dir) }),
    (err: unknown) => err instanceof ApplicationFailure && err.nonRetryable && err.type === ErrorType.InvalidConfig && /model "teacher": baseUrl "ftp:\/\/127\.0\.0\.1\/v1" has scheme "ftp"; only http and https are supported/.test(err.message),
  );

  // A path the file system refuses (a 300-character name): PathRefused, not a write retried for ever.
  const store = createArtifactStore(path.join(dir, 'store'));
  await assert.rejects(store.writeText(`${'x'.repeat(300)}/config.json`, '{}'), (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, ErrorType.PathRefused);
    assert.ok(err.nonRetryable);
    assert.match(err.message, /the file system refuses the path \(ENAMETOOLONG: a file or folder name is too long; use a shorter experiment id or artifactDir\)/);
    return true;
  });
});

test('a folder replaced by a file under a running writer (ENOTDIR) is retried: putting it back heals it', async () => {
  const store = createArtifactStore(path.join(dir, 'store'));
  await fs.mkdir(path.join(dir, 'store', 'exp'), { recursive: true });
  await fs.writeFile(path.join(dir, 'store', 'exp', 'trajectories'), 'not a folder');
  await assert.rejects(store.writeText('exp/trajectories/hotpotqa/1.json', '{}'), (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, ErrorType.ArtifactWriteFailed);
    assert.equal(err.nonRetryable, false);
    assert.match(err.message, /cannot write artifact .*1\.json: ENOTDIR/);
    return true;
  });
  await fs.rm(path.join(dir, 'store', 'exp', 'trajectories'));
  assert.equal((await store.writeText('exp/trajectories/hotpotqa/1.json', '{}')).path, 'exp/trajectories/hotpotqa/1.json');
});
