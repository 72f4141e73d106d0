// `fireact resume` as users will live it, on a real dev server: an experiment fails in evaluation
// (a baseline's endpoint rejects the key), is fixed and resumed by reset, and completes with
// generation and fine-tuning not done again; another is resumed as a new run with a changed config
// and reuses every episode. The teacher, the baseline and the fine-tuned student answer from a fake
// chat server; the fine-tuning API is a fake too, so jobs and uploads can be counted.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import YAML from 'yaml';
import { TASK_QUEUE } from '../../core/ids';
import { FireActExperiment } from '../../workflows';
import { createFireactWorkers } from '../../workers/fireact-worker';
import { findResetPoint, resumeExperiment } from '../../scripts/cli/resume';
import { progressQuery } from '../../core/progress';
import { fakeTeacher, startFakeOpenAIServer, type FakeOpenAIServer } from '../../scripts/support/fake-openai-server';
import { startFakeFineTuneServer, type FakeFineTuneServer } from '../../scripts/support/fake-finetune-server';
import { historyFromJsonValue } from '../../scripts/support/history-json';
import { DATA_DIR, REPO_ROOT, tempDir } from '../../scripts/support/paths';
import { startDevServer, workflowBundle } from '../../scripts/support/temporal';
import { runFireact } from '../support/cli';

const KEY_ENV = 'FIREACT_TEST_RESUME_KEY';
let env: TestWorkflowEnvironment;
let workers: Worker[];
let running: Promise<unknown>;
let dir: string;
let chat: FakeOpenAIServer;
let ft: FakeFineTuneServer;
let proxy: http.Server;
let proxyUrl: string;
let judgeBroken = true;

/** One base URL for the student: chat completions go to the chat fake, the rest to the fine-tuning fake. */
function startProxy(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const target = new URL(req.url!.includes('/chat/completions') ? chat.url : ft.url);
    const out = http.request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host } },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  dir = await tempDir('resume');
  env = await startDevServer();
  const teacher = fakeTeacher();
  chat = await startFakeOpenAIServer({
    behaviour: (body, n) =>
      body.model === 'judge' && judgeBroken
        ? { status: 401, error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } }
        : body.model === 'slow-teacher'
          ? { content: teacher(body, n) as string, delayMs: 150 }
          : teacher(body, n),
  });
  ft = await startFakeFineTuneServer({ stageMs: 10, stepMs: 5, totalSteps: 8 });
  proxy = await startProxy();
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/v1`;
  workers = await createFireactWorkers({
    connection: env.nativeConnection,
    deps: { env: { ...process.env, [KEY_ENV]: ft.apiKey } },
    worker: { workflowBundle: await workflowBundle() },
  });
  running = Promise.all(workers.map((w) => w.run()));
});

afterAll(async () => {
  for (const w of workers ?? []) w.shutdown();
  await running;
  await env?.teardown();
  await chat?.close();
  await ft?.close();
  await new Promise((r) => proxy?.close(r));
  await fs.rm(dir, { recursive: true, force: true });
});

function config(name: string) {
  return {
    name,
    dataDir: DATA_DIR,
    artifactDir: path.join(dir, 'artifacts'),
    // A cache per experiment: requests not sent must be owed to reused episodes, not to cached replies.
    cacheDir: path.join(dir, 'cache', name),
    models: {
      teacher: { provider: 'openai', model: 'fake-teacher', baseUrl: chat.url },
      judge: { provider: 'openai', model: 'judge', baseUrl: chat.url },
    },
    search: { backend: 'local', fallback: 'none' },
    generate: { teacher: 'teacher', tasks: [{ task: 'hotpotqa', split: 'test', methods: ['react'], sample: { n: 10 } }], shardSize: 5 },
    curate: { requireSuccess: false, excludeEvalQuestions: false },
    datasets: [{ name: 'hq', tasks: ['hotpotqa'], methods: ['react'] }],
    students: [{ name: 'gpt35', backend: 'openai', baseModel: 'gpt-3.5-turbo-0125', baseUrl: proxyUrl, apiKeyEnv: KEY_ENV, datasets: ['hq'], nEpochs: 1 }],
    evaluate: { tasks: [{ task: 'hotpotqa', split: 'dev', sample: { n: 2 } }], baselines: [{ model: 'judge', methods: ['react'] }], maxSteps: 2 },
  };
}

const requestsFor = (model: string) => chat.requests.filter((r) => (r.body as { model?: string } | undefined)?.model === model).length;
const teacherRequests = () => requestsFor('fake-teacher');

const fireact = (args: string[]) => runFireact(args, env.address);

/** Starts an experiment that fails in evaluation (the baseline's endpoint answers 401). */
async function failedExperiment(id: string) {
  judgeBroken = true;
  const handle = await env.client.workflow.start(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId: id, args: [{ config: config(id) }] });
  await assert.rejects(handle.result(), (err: Error) => {
    const messages: string[] = [];
    for (let e: unknown = err; e instanceof Error; e = e.cause) messages.push(e.message);
    assert.match(messages.join(' | '), /Incorrect API key|401/);
    return true;
  });
  assert.equal((await handle.describe()).status.name, 'FAILED');
}

async function scheduled(id: string): Promise<{ activities: Record<string, number>; children: Record<string, number> }> {
  const h = await env.client.workflow.getHandle(id).fetchHistory();
  const activities: Record<string, number> = {};
  const children: Record<string, number> = {};
  for (const e of h.events ?? []) {
    const a = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (a) activities[a] = (activities[a] ?? 0) + 1;
    const c = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name;
    if (c) children[c] = (children[c] ?? 0) + 1;
  }
  return { activities, children };
}

test('a run that failed in evaluation, fixed and resumed by reset, completes without generating or training again', async () => {
  const id = 'resume-reset';
  await failedExperiment(id);
  const generated = teacherRequests();
  assert.equal(generated, 10, 'one call per episode (the fake teacher answers at once)');
  assert.equal(ft.jobCreations, 1);
  assert.equal(ft.uploads, 1);

  // The reset point is the workflow task that began evaluation.
  const failedHistory = await env.client.workflow.getHandle(id).fetchHistory();
  const point = findResetPoint(failedHistory.events ?? []);
  assert.equal(point?.stage, 'evaluate');

  judgeBroken = false; // the fix: a valid key for the baseline's endpoint
  const r = await fireact(['resume', id]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`reset ${id} \\(FAILED\\) to event ${point!.eventId}: it redoes stage "evaluate"`));

  const result = await env.client.workflow.getHandle<typeof FireActExperiment>(id).result();
  assert.equal(result.episodes, 10);
  assert.deepEqual(result.evaluation.map((e) => e.model).sort(), ['gpt35@hq', 'judge']);
  assert.ok(result.report);
  assert.equal(teacherRequests(), generated, 'no generation request after the reset');
  assert.equal(ft.jobCreations, 1, 'no second fine-tuning job');
  assert.equal(ft.uploads, 1, 'no second upload');
  // The continued run's history holds the earlier stages once: nothing before evaluation was redone.
  const { activities, children } = await scheduled(id);
  assert.equal(activities.prepareExperiment, 1);
  assert.equal(activities.curate, 1);
  assert.equal(activities.buildDatasets, 1);
  assert.equal(children.GenerateShard, 2);
  assert.equal(children.FineTuneStudent, 1);
  assert.equal(children.EvaluateModel, 2);
}, 120_000);

test('a run resumed as a new run with a changed config reuses every episode and the trained model', async () => {
  const id = 'resume-new';
  await failedExperiment(id);
  const generated = teacherRequests();
  const jobs = ft.jobCreations;

  // The changed config: an added dataset mix, the broken baseline dropped, and a new (empty) model
  // cache, so that only reused episode files can spare the teacher's calls.
  const changed = { ...config(id), cacheDir: path.join(dir, 'cache', 'changed'), datasets: [...config(id).datasets, { name: 'hq-again', tasks: ['hotpotqa'], methods: ['react'] }] };
  changed.evaluate = { ...changed.evaluate, baselines: [] };
  const file = path.join(dir, 'changed.yaml');
  await fs.writeFile(file, YAML.stringify(changed));
  const r = await fireact(['resume', id, '--config', file]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /started resume-new-r1, resuming resume-new \(FAILED\) as a new run/);

  const result = await env.client.workflow.getHandle<typeof FireActExperiment>('resume-new-r1').result();
  assert.equal(result.episodes, 10);
  assert.equal(teacherRequests(), generated, 'every episode was reused: no generation request');
  assert.equal(result.generate.cachedCalls, 0);
  assert.equal(ft.jobCreations, jobs, 'the finished fine-tuning job was reused');
  assert.deepEqual(result.datasets.map((d) => d.name).sort(), ['hq', 'hq-again']);
  assert.deepEqual(result.evaluation.map((e) => e.model), ['gpt35@hq']);
  // Same artifact folder: the new mix sits beside the original's files.
  await fs.access(path.join(result.artifactDir, id, 'datasets', 'hq-again'));
  await fs.access(path.join(result.artifactDir, id, 'trajectories'));
  // Children carry the new run's id.
  assert.equal((await env.client.workflow.getHandle('resume-new-r1/finetune/gpt35-hq').describe()).status.name, 'COMPLETED');

  // Resuming a completed experiment without a change is refused with a reason.
  const again = await fireact(['resume', 'resume-new-r1']);
  assert.equal(again.code, 1);
  assert.match(again.err, /resume-new-r1 is COMPLETED; nothing to resume/);
}, 120_000);

test('the reset point is the workflow task that began the last stage, in recorded histories', async () => {
  const fixtures = path.join(REPO_ROOT, 'test', 'fixtures', 'histories', 'v1');
  const load = async (name: string) =>
    historyFromJsonValue((JSON.parse(await fs.readFile(path.join(fixtures, name), 'utf8')) as { history: unknown }).history).events ?? [];
  // Cancelled in generation: reset to the task that started the first shard, after prepare's result.
  const cancelled = await load('fixture-cancel.json');
  const point = findResetPoint(cancelled);
  assert.equal(point?.stage, 'generate');
  const at = cancelled.findIndex((e) => Number(e.eventId) === point!.eventId);
  assert.equal(cancelled[at].eventType, temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  const firstShard = cancelled.findIndex((e) => e.startChildWorkflowExecutionInitiatedEventAttributes);
  const prepared = cancelled.findIndex((e) => e.activityTaskCompletedEventAttributes);
  assert.ok(prepared < at && at < firstShard, `prepare completed at ${prepared}, reset at ${at}, first shard at ${firstShard}`);
  // No later task completed before the first shard was started.
  assert.ok(!cancelled.slice(at + 1, firstShard).some((e) => e.eventType === cancelled[at].eventType));
  // A completed run's last stage is its report.
  assert.equal(findResetPoint(await load('fixture-student.json'))?.stage, 'report');
  assert.equal(findResetPoint([]), undefined);
});

test('a run cancelled in generation and resumed by reset pays only for the episodes it had not finished', async () => {
  const id = 'resume-cancelled';
  const base = config(id);
  const cfg = {
    ...base,
    models: { teacher: { ...base.models.teacher, model: 'slow-teacher' } },
    generate: { ...base.generate, shardSize: 5, maxParallelShards: 1, episodeConcurrency: 1 },
    students: [],
    evaluate: undefined,
  };
  const handle = await env.client.workflow.start(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId: id, args: [{ config: cfg }] });
  // The first shard finishes (a hang ends at the test's timeout).
  while ((await handle.query(progressQuery)).stages.generate.done < 5) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await handle.cancel();
  await assert.rejects(handle.result());
  const paid = requestsFor('slow-teacher');
  assert.ok(paid >= 5 && paid < 10, `cancelled after ${paid} of 10 calls`);

  const r = await resumeExperiment(env.client, env.connection, id);
  assert.equal(r.kind, 'reset');
  assert.equal(r.was, 'CANCELLED');
  assert.equal(r.stage, 'generate');
  const result = await env.client.workflow.getHandle<typeof FireActExperiment>(id).result();
  assert.equal(result.episodes, 10);
  assert.equal(result.curate.total, 10);
  // Every episode paid once; one in flight at the cancel may be paid twice (its reply was never stored).
  const total = requestsFor('slow-teacher');
  assert.ok(total >= 10 && total <= 11, `${total} calls for 10 episodes`);
  console.log(`resume after cancel: ${paid} calls before the cancel, ${total - paid} after the reset, ${total} for 10 episodes`);
}, 120_000);
