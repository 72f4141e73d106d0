// Scale: 3,000 episodes in one experiment against a fast local OpenAI-compatible model; no workflow
// run's history passes 10,000 events (shards continue as new), and every episode is there once.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { TASK_QUEUE } from '../../core/ids';
import { FireActExperiment } from '../../workflows';
import { fakeTeacher, startFakeOpenAIServer, type FakeOpenAIServer } from '../../scripts/support/fake-openai-server';
import { DATA_DIR, tempDir } from '../../scripts/support/paths';
import { startStack } from '../../scripts/support/temporal';

let env: TestWorkflowEnvironment;
let stack: Awaited<ReturnType<typeof startStack>>;
let model: FakeOpenAIServer;
let dir: string;

beforeAll(async () => {
  dir = await tempDir('scale');
  model = await startFakeOpenAIServer({ behaviour: fakeTeacher() });
  stack = await startStack();
  env = stack.env;
});

afterAll(async () => {
  await stack?.stop();
  await model?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('3,000 episodes: every one present once, no history past 10,000 events', async () => {
  const t0 = Date.now();
  const id = 'scale-3000';
  const result = await env.client.workflow.execute(FireActExperiment, {
    taskQueue: TASK_QUEUE,
    workflowId: id,
    args: [
      {
        config: {
          name: 'scale',
          dataDir: DATA_DIR,
          artifactDir: path.join(dir, 'artifacts'),
          cacheDir: path.join(dir, 'cache'),
          models: { teacher: { provider: 'openai', model: 'fake-teacher', baseUrl: model.url, maxConcurrency: 64 } },
          search: { backend: 'local' },
          generate: {
            teacher: 'teacher',
            tasks: [{ task: 'hotpotqa', split: 'dev', methods: ['cot'], sample: { n: Number(process.env.FIREACT_SCALE_N ?? 3000) } }],
            shardSize: 750,
            maxParallelShards: 4,
            episodeConcurrency: 12,
            // 3,000 episodes are 300 activities (ten per activity): the lowest threshold makes shards continue as new.
            continueAsNewAfterEvents: 200,
          },
          // Volume comes from HotpotQA dev, which is also the eval split: keep everything here.
          curate: { requireSuccess: false, excludeEvalQuestions: false },
          datasets: [{ name: 'all', tasks: ['hotpotqa'], methods: ['cot'] }],
        },
      },
    ],
  });
  const seconds = (Date.now() - t0) / 1000;
  assert.equal(result.episodes, 3000);
  assert.equal(result.curate.total, 3000);
  assert.equal(result.curate.drops.missing ?? 0, 0);
  assert.equal(model.completionRequests, 3000, 'one model call per episode, none repeated');

  let largest = 0;
  let runs = 0;
  let continued = 0;
  for await (const w of env.client.workflow.list()) {
    const history = await env.client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
    const events = history.events?.length ?? 0;
    largest = Math.max(largest, events);
    runs += 1;
    if (w.status.name === 'CONTINUED_AS_NEW') continued += 1;
  }
  assert.ok(continued > 0, 'shards continued as new');
  assert.ok(largest < 10_000, `largest history ${largest} events`);
  console.log(`scale: 3000 episodes in ${seconds.toFixed(1)} s; ${runs} workflow runs (${continued} continued as new); largest history ${largest} events`);
}, 15 * 60_000);
