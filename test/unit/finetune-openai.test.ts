// The OpenAI fine-tuning backend and activities, with the real `openai` client talking to a fake
// fine-tuning API on 127.0.0.1, and the activities run in Temporal's MockActivityEnvironment for
// heartbeats and cancellation.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, test } from '@jest/globals';
import { ActivityCancellationDetails, ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ErrorType } from '../../core/errors';
import { fineTuneKey, legacyFineTuneKey } from '../../core/ids';
import { createHostedFineTuneActivities, uploadKeyFor } from '../../activities/finetune-hosted';
import { inspectChatJsonl } from '../../lib/finetune/chat-file';
import type { FollowEvent } from '../../lib/finetune/hosted';
import { createOpenAIFineTuneBackend, IDEMPOTENCY_METADATA_KEY, validateOpenAIChatFile } from '../../lib/finetune/openai';
import { resolveApiKey } from '../../lib/models/openai-model';
import { startFakeFineTuneServer, type FakeFineTuneServerOptions } from '../../scripts/support/fake-finetune-server';
import { DATA_DIR, REPO_ROOT, tempDir } from '../../scripts/support/paths';
import { perTestCleanup } from '../support/cleanup';
import type { FollowHeartbeat, LegacyOpenAIInput, StartHostedFineTuneInput } from '../../activities/contracts';

/** What startOpenAIFineTune (the hosted start under its recorded name) takes. */
type StartOpenAIFineTuneInput = LegacyOpenAIInput<StartHostedFineTuneInput>;

const onCleanup = perTestCleanup();

const created: string[] = [];
async function scratch(): Promise<string> {
  const dir = await tempDir('finetune-openai');
  created.push(dir);
  return dir;
}
afterAll(async () => {
  for (const d of created) await fs.rm(d, { recursive: true, force: true });
});

const KEY_ENV = 'FIREACT_TEST_FT_KEY';
const BASE_MODEL = 'gpt-4o-mini-2024-07-18';

/** The first n examples of FireAct's released HotpotQA chat file. */
async function trainingFile(n = 12): Promise<{ path: string; sha256: string; lines: string[] }> {
  const text = await fs.readFile(path.join(DATA_DIR, 'finetune', 'gpt_format', 'hotpotqa.jsonl'), 'utf8');
  const lines = text.split('\n').filter((l) => l.trim() !== '').slice(0, n);
  assert.equal(lines.length, n, 'the released file has enough examples');
  const file = path.join(await scratch(), 'train.openai.jsonl');
  const body = lines.join('\n') + '\n';
  await fs.writeFile(file, body);
  return { path: file, sha256: createHash('sha256').update(body).digest('hex'), lines };
}

async function setup(serverOpts: FakeFineTuneServerOptions = {}, keyOverride?: string) {
  const server = await startFakeFineTuneServer({ stepMs: 10, totalSteps: 12, checkpointEvery: 4, ...serverOpts });
  onCleanup(() => server.close());
  const env = { [KEY_ENV]: keyOverride ?? server.apiKey };
  const activities = createHostedFineTuneActivities({
    env,
    backendFor: (endpoint) =>
      createOpenAIFineTuneBackend({ baseUrl: endpoint.baseUrl, apiKey: resolveApiKey(endpoint, env), retryDelayMs: 10, filePollMs: 10, maxRetries: 2 }),
  });
  const endpoint = { baseUrl: server.url, apiKeyEnv: KEY_ENV };
  return { server, env, activities, endpoint };
}

function startInput(file: { path: string; sha256: string }, endpoint: { baseUrl: string; apiKeyEnv: string }, over: Partial<StartOpenAIFineTuneInput> = {}): StartOpenAIFineTuneInput {
  return {
    datasetPath: file.path,
    datasetSha256: file.sha256,
    baseModel: BASE_MODEL,
    suffix: 'fireact-test',
    hyperparameters: { n_epochs: 2, learning_rate_multiplier: 'auto' },
    idempotencyKey: 'exp1-student-hotpotqa',
    ...endpoint,
    ...over,
  };
}

/** A mock activity environment that logs only errors (activity failures are expected here). */
function mockEnv(info: ConstructorParameters<typeof MockActivityEnvironment>[0] = {}): MockActivityEnvironment {
  return new MockActivityEnvironment(info, { logger: new DefaultLogger('ERROR') });
}

/** MockActivityEnvironment.run with the activity's result type kept. */
function runIn<A extends unknown[], R>(env: MockActivityEnvironment, fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return env.run(fn, ...args) as Promise<R>;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}

function appFailure(err: unknown): ApplicationFailure {
  assert.ok(err instanceof ApplicationFailure, `expected ApplicationFailure, got ${String(err)}`);
  return err;
}

function heartbeatsOf(env: MockActivityEnvironment): FollowHeartbeat[] {
  const beats: FollowHeartbeat[] = [];
  env.on('heartbeat', (d: FollowHeartbeat) => beats.push(d));
  return beats;
}

/** Resolves when a heartbeat satisfies `pred`. */
function heartbeatWhere(env: MockActivityEnvironment, pred: (d: FollowHeartbeat) => boolean): Promise<FollowHeartbeat> {
  return new Promise((resolve) => {
    const on = (d: FollowHeartbeat) => {
      if (d && pred(d)) {
        env.off('heartbeat', on);
        resolve(d);
      }
    };
    env.on('heartbeat', on);
  });
}

test('validation names the file and the bad lines, and nothing is uploaded', async () => {
  const { server, activities, endpoint } = await setup();
  const good = await trainingFile(12);
  const lines = [...good.lines];
  lines[2] = '{"messages": [ not json';
  lines[4] = JSON.stringify({ messages: [{ role: 'user', content: 'q' }, { role: 'robot', content: 'a' }] });
  lines[6] = '';
  lines[8] = JSON.stringify({ messages: [{ role: 'user', content: 'only a question' }] });
  const bad = path.join(await scratch(), 'bad.jsonl');
  const text = lines.join('\n') + '\n';
  await fs.writeFile(bad, text);

  const report = inspectChatJsonl(text);
  assert.deepEqual(report.bad.map((b) => b.line), [3, 5, 7, 9]);
  assert.equal(report.examples, 8);

  const err = appFailure(await rejection(validateOpenAIChatFile(bad)));
  assert.equal(err.type, ErrorType.BadDatasetRecord);
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, /bad\.jsonl/);
  assert.match(err.message, /4 bad line/);
  assert.match(err.message, /line 3: not valid JSON/);
  assert.match(err.message, /line 5: messages\[1\]\.role/);
  assert.match(err.message, /line 7: blank line/);
  assert.match(err.message, /line 9: messages: no assistant message/);

  const few = await trainingFile(9);
  const small = appFailure(await rejection(validateOpenAIChatFile(few.path)));
  assert.equal(small.type, ErrorType.BadDatasetRecord);
  assert.match(small.message, /has 9 example\(s\); OpenAI fine-tuning needs at least 10/);

  // Through the activity: refused before any request.
  const env = mockEnv();
  const sha = createHash('sha256').update(text).digest('hex');
  const viaActivity = appFailure(await rejection(runIn(env, activities.startOpenAIFineTune, startInput({ path: bad, sha256: sha }, endpoint))));
  assert.equal(viaActivity.type, ErrorType.BadDatasetRecord);
  const wrongHash = appFailure(await rejection(runIn(env, activities.startOpenAIFineTune, startInput({ path: good.path, sha256: sha }, endpoint))));
  assert.equal(wrongHash.type, ErrorType.ArtifactCorrupt);
  assert.equal(wrongHash.nonRetryable, true);
  assert.equal(server.requests.length, 0);
});

test('upload, create and follow to success, reporting every event once and the checkpoints', async () => {
  const { server, env: keyEnv, activities, endpoint } = await setup({ fileProcessingMs: 40 });
  const file = await trainingFile(12);

  const env = mockEnv();
  const started = await runIn(env, activities.startOpenAIFineTune, startInput(file, endpoint, { metadata: { experiment: 'exp1' } }));
  assert.equal(started.reusedJob, false);
  assert.equal(started.examples, 12);
  assert.equal(server.uploads, 1);
  assert.equal(server.jobCreations, 1);
  const job = server.job(started.jobId)!;
  assert.equal(job.training_file, started.fileId);
  assert.equal(job.model, BASE_MODEL);
  assert.deepEqual(job.metadata, { experiment: 'exp1', [IDEMPOTENCY_METADATA_KEY]: 'exp1-student-hotpotqa' });
  assert.deepEqual(job.method.supervised.hyperparameters, { n_epochs: 2, learning_rate_multiplier: 'auto' });
  assert.deepEqual(server.idempotencyKeys, ['exp1-student-hotpotqa']);
  const upload = server.requests.find((r) => r.method === 'POST' && r.path === '/v1/files');
  assert.ok(upload);
  // The upload waited for processing: the file was polled before the job was created.
  const order = server.requests.map((r) => `${r.method} ${r.path.replace(/file-[0-9a-f]+/, 'FILE')}`);
  assert.ok(order.indexOf('GET /v1/files/FILE') > order.indexOf('POST /v1/files'));
  assert.ok(order.indexOf('GET /v1/files/FILE') < order.indexOf('POST /v1/fine_tuning/jobs'));

  // Follow through the backend directly to see every event.
  const backend = createOpenAIFineTuneBackend({ baseUrl: server.url, apiKey: keyEnv[KEY_ENV] });
  const seen: FollowEvent[] = [];
  const result = await backend.followJob(started.jobId, { pollMs: 15, onEvent: (e) => void seen.push(e) });
  assert.equal(result.status, 'succeeded');
  assert.match(result.fineTunedModel ?? '', new RegExp(`^ft:${BASE_MODEL}:fireact-test:[0-9a-f]{8}$`));
  assert.ok((result.trainedTokens ?? 0) > 0);
  assert.deepEqual(result.checkpoints.map((c) => c.step), [4, 8, 12]);
  for (const c of result.checkpoints) {
    assert.match(c.model, new RegExp(`:ckpt-step-${c.step}$`));
    assert.equal(c.metrics.step, c.step);
    assert.equal(typeof c.metrics.train_loss, 'number');
  }
  const events = seen.filter((e): e is Extract<FollowEvent, { kind: 'event' }> => e.kind === 'event');
  assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'no event reported twice');
  const steps = events.filter((e) => e.type === 'metrics').map((e) => (e.data as { step: number }).step);
  assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 'every step, in order');
  assert.equal(events[0].message, `Created fine-tuning job: ${started.jobId}`);
  assert.equal(events[events.length - 1].message, 'The job has successfully completed');
  assert.deepEqual(seen.filter((e) => e.kind === 'checkpoint').map((e) => (e as { step: number }).step), [4, 8, 12]);

  // The activity on the finished job: same result, heartbeats carry the cursor, the record is written.
  const dir = await scratch();
  const actEnv = mockEnv();
  const beats = heartbeatsOf(actEnv);
  const followed = await runIn(actEnv, activities.followOpenAIFineTune, { jobId: started.jobId, pollMs: 15, ...endpoint, record: { artifactDir: dir, path: 'finetune/student.json' } });
  assert.equal(followed.fineTunedModel, result.fineTunedModel);
  assert.ok(followed.record);
  const recorded = JSON.parse(await fs.readFile(path.join(dir, 'finetune', 'student.json'), 'utf8')) as { fineTunedModel: string };
  assert.equal(recorded.fineTunedModel, result.fineTunedModel);
  const last = beats[beats.length - 1];
  assert.equal(last.jobId, started.jobId);
  assert.equal(last.lastEventId, events[events.length - 1].id);
  assert.equal(last.lastCheckpointStep, 12);
});

test('a start retried after a crash reuses the upload and the job: one upload, one creation', async () => {
  const { server, activities, endpoint } = await setup({ stepMs: 50 });
  const file = await trainingFile(12);
  // The provider stores the file and makes the job, but the replies never arrive (as if the worker died).
  server.addFault({ method: 'POST', path: /^\/v1\/files$/, dropResponse: true });
  server.addFault({ method: 'POST', path: /^\/v1\/fine_tuning\/jobs$/, dropResponse: true });

  const env = mockEnv();
  const first = await runIn(env, activities.startOpenAIFineTune, startInput(file, endpoint));
  assert.equal(server.uploads, 1);
  assert.equal(server.jobCreations, 1);
  assert.equal(server.requests.filter((r) => r.status === 'dropped').length, 2, 'both creating replies were lost');
  assert.equal(first.reusedJob, true, 'the job came from the look after the lost reply');

  // A whole new attempt of the activity (Temporal retry, or a reset workflow): still nothing new.
  const second = await runIn(mockEnv({ attempt: 2 }), activities.startOpenAIFineTune, startInput(file, endpoint));
  assert.equal(second.jobId, first.jobId);
  assert.equal(second.fileId, first.fileId);
  assert.equal(second.reusedJob, true);
  assert.equal(server.uploads, 1);
  assert.equal(server.jobCreations, 1);
  assert.equal(server.jobs().length, 1);
  const uploaded = server.requests.filter((r) => r.method === 'POST' && r.path === '/v1/files');
  assert.equal(uploaded.length, 1);
  assert.equal(server.jobs()[0].metadata?.[IDEMPOTENCY_METADATA_KEY], 'exp1-student-hotpotqa');
  assert.ok(uploadKeyFor(file.sha256).startsWith('fireact-ds-' + file.sha256.slice(0, 24)));

  // A different key is a different job (the file is still shared).
  const other = await runIn(env, activities.startOpenAIFineTune, startInput(file, endpoint, { idempotencyKey: 'exp2-student-hotpotqa' }));
  assert.notEqual(other.jobId, first.jobId);
  assert.equal(other.fileId, first.fileId);
  assert.equal(server.uploads, 1);
  assert.equal(server.jobCreations, 2);

  // A cancelled job is not resumed: the same key then makes a fresh job, under a fresh header.
  await runIn(env, activities.cancelOpenAIFineTune, { jobId: first.jobId, ...endpoint });
  const fresh = await runIn(env, activities.startOpenAIFineTune, startInput(file, endpoint));
  assert.notEqual(fresh.jobId, first.jobId);
  assert.equal(fresh.reusedJob, false);
  assert.equal(server.jobCreations, 3);
  assert.equal(server.idempotencyKeys[server.idempotencyKeys.length - 1], `exp1-student-hotpotqa.after.${first.jobId}`);
});

test('fine-tuning keys are distinct per experiment, student and dataset, and a run keyed the old way finds its job', async () => {
  // The old form joined the parts with "." and so mixed up where one ended.
  assert.equal(legacyFineTuneKey('a.b', 'c', 'hotpotqa'), legacyFineTuneKey('a', 'b.c', 'hotpotqa'));
  const keys = [
    fineTuneKey('a.b', 'c', 'hotpotqa'),
    fineTuneKey('a', 'b.c', 'hotpotqa'),
    fineTuneKey('a', 'b', 'c.hotpotqa'),
    fineTuneKey('a_b', 'c', 'hotpotqa'),
    fineTuneKey('a', 'b_c', 'hotpotqa'),
    fineTuneKey('a/b', 'c', 'hotpotqa'),
    fineTuneKey('a_2fb', 'c', 'hotpotqa'),
    fineTuneKey('x'.repeat(90), 'c', 'hotpotqa'),
    fineTuneKey('x'.repeat(90), 'c', 'hotpotqa-'),
    fineTuneKey('x'.repeat(60) + '.y', 'c', 'hotpotqa'),
    fineTuneKey('x'.repeat(60), 'y.c', 'hotpotqa'),
  ];
  assert.equal(new Set(keys).size, keys.length, keys.join('\n'));
  for (const k of keys) assert.match(k, /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
  assert.equal(fineTuneKey('x'.repeat(90), 'c', 'hotpotqa'), keys[7], 'the same on every call');
  // Plain names keep the key they always had, so most running experiments are untouched.
  assert.equal(fineTuneKey('exp1', 'gpt-student', 'hotpotqa'), legacyFineTuneKey('exp1', 'gpt-student', 'hotpotqa'));

  const { server, activities, endpoint } = await setup();
  const file = await trainingFile(12);
  const env = mockEnv();
  // A run started before the change created its job under the old key.
  const old = await runIn(env, activities.startOpenAIFineTune, startInput(file, endpoint, { idempotencyKey: legacyFineTuneKey('a.b', 'c', 'hotpotqa') }));
  assert.equal(server.jobCreations, 1);
  // Reset or resumed, it now asks under the new key and names the old one: the same job, nothing created.
  const resumed = await runIn(
    env,
    activities.startOpenAIFineTune,
    startInput(file, endpoint, { idempotencyKey: fineTuneKey('a.b', 'c', 'hotpotqa'), previousIdempotencyKeys: [legacyFineTuneKey('a.b', 'c', 'hotpotqa')] }),
  );
  assert.equal(resumed.jobId, old.jobId);
  assert.equal(resumed.reusedJob, true);
  assert.equal(server.jobCreations, 1);
  // The other experiment whose old key was the same trains on its own file: it gets its own job.
  const otherFile = await trainingFile(10);
  const other = await runIn(
    env,
    activities.startOpenAIFineTune,
    startInput(otherFile, endpoint, { idempotencyKey: fineTuneKey('a', 'b.c', 'hotpotqa'), previousIdempotencyKeys: [legacyFineTuneKey('a', 'b.c', 'hotpotqa')] }),
  );
  assert.notEqual(other.jobId, old.jobId);
  assert.equal(other.reusedJob, false);
  assert.equal(server.jobCreations, 2);
  assert.equal(server.jobs().find((j) => j.id === other.jobId)?.metadata?.[IDEMPOTENCY_METADATA_KEY], fineTuneKey('a', 'b.c', 'hotpotqa'));
});

test('a follower stopped by worker shutdown leaves the job running, and the next one resumes without repeating events', async () => {
  const { server, activities, endpoint } = await setup({ stepMs: 40, totalSteps: 12, checkpointEvery: 4 });
  const file = await trainingFile(12);
  const { jobId } = await runIn(mockEnv(), activities.startOpenAIFineTune, startInput(file, endpoint));

  // First attempt: stopped after step 5 by a worker shutdown (not a cancel request).
  const env1 = mockEnv({ heartbeatTimeoutMs: 2000 });
  const beats1 = heartbeatsOf(env1);
  const run1 = runIn(env1, activities.followOpenAIFineTune, { jobId, pollMs: 15, heartbeatEveryMs: 20, ...endpoint });
  const at = await heartbeatWhere(env1, (d) => d.lastCheckpointStep >= 4 && /Step [5-9]\//.test(d.last ?? ''));
  env1.cancel('WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true }));
  const err1 = await rejection(run1);
  assert.ok(err1 instanceof CancelledFailure, `expected CancelledFailure, got ${String(err1)}`);
  assert.equal(server.job(jobId)!.status, 'running', 'the remote job was left alone');
  assert.ok(at.lastEventId);

  // Second attempt, resumed from the last heartbeat of the first.
  const resumeFrom = beats1[beats1.length - 1];
  const env2 = mockEnv({ attempt: 2, heartbeatDetails: resumeFrom });
  const beats2 = heartbeatsOf(env2);
  const result = await runIn(env2, activities.followOpenAIFineTune, { jobId, pollMs: 15, ...endpoint });
  assert.equal(result.status, 'succeeded');

  // Every event id, as the heartbeats passed them; together the two attempts saw each event exactly once.
  const distinctIds = (beats: FollowHeartbeat[], skip?: string) => [...new Set(beats.map((b) => b.lastEventId).filter((id): id is string => !!id && id !== skip))];
  const ids1 = distinctIds(beats1);
  const ids2 = distinctIds(beats2, resumeFrom.lastEventId);
  assert.equal(ids2.filter((id) => ids1.includes(id)).length, 0, 'the resumed follower re-reported nothing');
  const serverIds = (await listAllEventIds(server.url, server.apiKey, jobId)).reverse();
  assert.deepEqual([...ids1, ...ids2], serverIds, 'and missed nothing, in order');
  const ckpt2 = [...new Set(beats2.map((b) => b.last).filter((l) => /^checkpoint/.test(l ?? '')))];
  assert.deepEqual(ckpt2, [`checkpoint at step 8: ${result.checkpoints[1].model}`, `checkpoint at step 12: ${result.checkpoints[2].model}`]);
});

async function listAllEventIds(url: string, key: string, jobId: string): Promise<string[]> {
  const res = await fetch(`${url}/fine_tuning/jobs/${jobId}/events?limit=10000`, { headers: { authorization: `Bearer ${key}` } });
  const body = (await res.json()) as { data: Array<{ id: string }> };
  return body.data.map((e) => e.id);
}

test('a failed job ends the follower with a non-retryable FineTuneFailed carrying the server message', async () => {
  const { activities, endpoint } = await setup({
    stepMs: 10,
    failure: { atStep: 6, code: 'quota_exceeded', message: 'Fine-tuning job failed: the organization is over its training quota.' },
  });
  const file = await trainingFile(12);
  const env = mockEnv();
  const { jobId } = await runIn(env, activities.startOpenAIFineTune, startInput(file, endpoint));
  const beats = heartbeatsOf(env);
  const err = appFailure(await rejection(runIn(env, activities.followOpenAIFineTune, { jobId, pollMs: 15, ...endpoint })));
  assert.equal(err.type, ErrorType.FineTuneFailed);
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, /the organization is over its training quota/);
  assert.match(err.message, /code quota_exceeded/);
  assert.match(err.message, new RegExp(jobId));
  const details = err.details?.[0] as { checkpoints: Array<{ step: number }> };
  assert.deepEqual(details.checkpoints.map((c) => c.step), [4]);
  assert.ok(beats.some((b) => /Step 6\//.test(b.last ?? '') || /quota/.test(b.last ?? '')));
});

test('cancelling the follow activity cancels the remote job; cancelling again is harmless', async () => {
  const { server, activities, endpoint } = await setup({ stepMs: 30, totalSteps: 1000 });
  const file = await trainingFile(12);
  const { jobId } = await runIn(mockEnv(), activities.startOpenAIFineTune, startInput(file, endpoint));

  const env = mockEnv({ heartbeatTimeoutMs: 2000 });
  const run = runIn(env, activities.followOpenAIFineTune, { jobId, pollMs: 15, ...endpoint });
  await heartbeatWhere(env, (d) => /Step 2\//.test(d.last ?? ''));
  assert.equal(server.job(jobId)!.status, 'running');
  env.cancel();
  const err = await rejection(run);
  assert.ok(err instanceof CancelledFailure, `expected CancelledFailure, got ${String(err)}`);
  assert.equal(server.job(jobId)!.status, 'cancelled');
  assert.ok(server.requests.some((r) => r.method === 'POST' && r.path === `/v1/fine_tuning/jobs/${jobId}/cancel`));

  // The workflow's cancellation scope calls cancel too: the job has ended, and that is an answer, not an error.
  const again = await runIn(mockEnv(), activities.cancelOpenAIFineTune, { jobId, ...endpoint });
  assert.deepEqual(again, { jobId, status: 'cancelled' });
});

test('a wrong key is a non-retryable ModelAuth failure that never shows the key', async () => {
  const wrongKey = 'sk-wrong-9d8c7b6a5f4e3d2c1b0a';
  const { server, activities, endpoint } = await setup({}, wrongKey);
  const file = await trainingFile(12);
  // The fake, like the real service, names the presented key in its 401 body.
  const raw = await fetch(`${server.url}/files`, { headers: { authorization: `Bearer ${wrongKey}` } });
  assert.equal(raw.status, 401);
  assert.ok((await raw.text()).includes(wrongKey));

  const env = mockEnv();
  const err = appFailure(await rejection(runIn(env, activities.startOpenAIFineTune, startInput(file, endpoint))));
  assert.equal(err.type, ErrorType.ModelAuth);
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, /HTTP 401/);
  assert.ok(!err.message.includes(wrongKey), err.message);
  assert.ok(!JSON.stringify(err.details ?? []).includes(wrongKey));
  assert.equal(server.uploads, 0);

  // No key in the worker's environment at all.
  const bare = createHostedFineTuneActivities({ env: {} });
  const missing = appFailure(await rejection(runIn(env, bare.followOpenAIFineTune, { jobId: 'ftjob-x', ...endpoint })));
  assert.equal(missing.type, ErrorType.MissingSecret);
  assert.equal(missing.nonRetryable, true);
});

test('transient errors are retried or left to Temporal; unknown jobs are final', async () => {
  const { server, activities, endpoint } = await setup();
  const file = await trainingFile(12);
  const env = mockEnv();

  // Creation throttled every time: retryable, and no job made.
  server.addFault({ method: 'POST', path: /^\/v1\/fine_tuning\/jobs$/, status: 429, times: 3, error: { message: 'Rate limit reached', code: 'rate_limit_exceeded' } });
  const limited = appFailure(await rejection(runIn(env, activities.startOpenAIFineTune, startInput(file, endpoint))));
  assert.equal(limited.type, ErrorType.ModelRateLimited);
  assert.equal(limited.nonRetryable, false);
  assert.match(limited.message, /after 3 attempts/);
  assert.equal(server.jobCreations, 0);

  // The next attempt gets through; a 500 while following is absorbed by the client's own retry.
  const { jobId } = await runIn(env, activities.startOpenAIFineTune, startInput(file, endpoint));
  server.addFault({ method: 'GET', path: new RegExp(`^/v1/fine_tuning/jobs/${jobId}$`), status: 500, times: 1, headers: { 'retry-after-ms': '10' } });
  const done = await runIn(env, activities.followOpenAIFineTune, { jobId, pollMs: 15, ...endpoint });
  assert.equal(done.status, 'succeeded');
  assert.ok(server.requests.some((r) => r.status === 500));

  // Five hundreds in a row outlast the client: a retryable failure for Temporal.
  server.addFault({ method: 'GET', path: new RegExp(`^/v1/fine_tuning/jobs/${jobId}$`), status: 503, times: 3, headers: { 'retry-after-ms': '10' } });
  const down = appFailure(await rejection(runIn(env, activities.followOpenAIFineTune, { jobId, pollMs: 15, ...endpoint })));
  assert.equal(down.type, ErrorType.ModelUnavailable);
  assert.equal(down.nonRetryable, false);

  const missing = appFailure(await rejection(runIn(env, activities.followOpenAIFineTune, { jobId: 'ftjob-doesnotexist', pollMs: 15, ...endpoint })));
  assert.equal(missing.type, ErrorType.ModelNotFound);
  assert.equal(missing.nonRetryable, true);
});

test('the fake server runs as its own process for cross-process tests', async () => {
  const file = await trainingFile(10);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'test', 'support', 'fake-finetune-server-main.ts'), '--key', 'sk-cli-key', '--step-ms', '5', '--total-steps', '4', '--checkpoint-every', '2'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onCleanup(() => {
    child.kill('SIGTERM');
  });
  const rl = createInterface({ input: child.stdout! });
  const [url] = (await once(rl, 'line')) as [string];
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
  const backend = createOpenAIFineTuneBackend({ baseUrl: url, apiKey: 'sk-cli-key' });
  const fileId = await backend.uploadTrainingFile(file.path, { idempotencyKey: uploadKeyFor(file.sha256) });
  const job = await backend.createJob({ trainingFileId: fileId, model: BASE_MODEL, suffix: 'cli', idempotencyKey: 'cli-run' });
  const result = await backend.followJob(job.id, { pollMs: 10 });
  assert.equal(result.status, 'succeeded');
  assert.deepEqual(result.checkpoints.map((c) => c.step), [2, 4]);
  assert.equal(result.fineTunedModel, `ft:${BASE_MODEL}:cli:${job.id.slice(-8)}`);
});
