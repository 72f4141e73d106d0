// The experiment end to end on a real dev server: replayed teacher, generate → curate → build,
// progress query, stage search attribute, readable child ids, datasets that parse as their formats.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ExperimentConfigInput } from '../../core/config';
import { STAGE_SEARCH_KEY, TASK_QUEUE } from '../../core/ids';
import { progressQuery } from '../../core/progress';
import { validateAlpacaRecord, validateChatLine } from '../../lib/datasets/formats';
import { FireActExperiment } from '../../workflows';
import { DATA_DIR, tempDir } from '../../scripts/support/paths';
import { startStack } from '../../scripts/support/temporal';

let env: TestWorkflowEnvironment;
let stack: Awaited<ReturnType<typeof startStack>>;
let dir: string;

beforeAll(async () => {
  dir = await tempDir('experiment');
  stack = await startStack();
  env = stack.env;
});

afterAll(async () => {
  await stack?.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

function config(name: string): ExperimentConfigInput {
  return {
    name,
    dataDir: DATA_DIR,
    artifactDir: path.join(dir, 'artifacts'),
    cacheDir: path.join(dir, 'cache'),
    models: { teacher: { provider: 'replay', model: 'gpt-4 (recorded)', replayFiles: ['multitask_multimethod'] } },
    search: { backend: 'replay', fallback: 'local' },
    generate: {
      teacher: 'teacher',
      tasks: [
        { task: 'hotpotqa', split: 'fireact-react', methods: ['react'], sample: { n: 8 } },
        { task: 'hotpotqa', split: 'fireact-cot', methods: ['cot'], sample: { n: 5 } },
        { task: 'mmlu', split: 'fireact-react', methods: ['react'], sample: { n: 5 } },
        { task: 'strategyqa', split: 'fireact-react', methods: ['react'], sample: { n: 5 } },
      ],
      shardSize: 4,
      maxParallelShards: 3,
      episodeConcurrency: 3,
    },
    datasets: [
      { name: 'hotpotqa-react', tasks: ['hotpotqa'], methods: ['react'] },
      { name: 'all', tasks: ['hotpotqa', 'mmlu', 'strategyqa'], methods: ['react', 'cot'] },
    ],
  };
}

test('a replayed experiment builds datasets that parse as their formats', async () => {
  const id = 'e2e-demo';
  const handle = await env.client.workflow.start(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId: id, args: [{ config: config('e2e') }] });
  const result = await handle.result();

  assert.equal(result.episodes, 23);
  assert.equal(result.replayedTeacher, true);
  // multitask_multimethod has 14 records that cannot be replayed; each is counted with its reason.
  assert.equal(Object.values(result.replaySkipped).reduce((a, b) => a + b, 0), 14);
  assert.equal(result.replaySkipped['multitask_multimethod: fewer than three messages'], 2);
  assert.ok(result.curate.kept > 15, `kept ${result.curate.kept}`);
  assert.equal(result.curate.total, 23);

  const byName = Object.fromEntries(result.datasets.map((d) => [d.name, d]));
  assert.equal(byName['hotpotqa-react'].byMethod.react, byName['hotpotqa-react'].records);
  assert.equal(byName.all.records, result.curate.kept);
  for (const d of result.datasets) {
    const chatRef = d.files.openai!;
    const chat = await fs.readFile(path.join(result.artifactDir, chatRef.path), 'utf8');
    assert.equal(createHash('sha256').update(chat).digest('hex'), chatRef.sha256);
    const lines = chat.split('\n').filter(Boolean);
    assert.equal(lines.length, d.records);
    for (const line of lines) assert.deepEqual(validateChatLine(JSON.parse(line)), []);
    const alpaca = JSON.parse(await fs.readFile(path.join(result.artifactDir, d.files.alpaca!.path), 'utf8')) as unknown[];
    assert.equal(alpaca.length, d.records);
    for (const rec of alpaca) assert.deepEqual(validateAlpacaRecord(rec), []);
  }

  const progress = await handle.query(progressQuery);
  assert.equal(progress.stage, 'done');
  assert.equal(progress.stages.generate.done, 23);
  const desc = await handle.describe();
  assert.equal(desc.typedSearchAttributes.get(STAGE_SEARCH_KEY), 'done');

  // Child workflows carry readable ids: <experiment>/generate/<task>-<split>-<method>-<shard>.
  const children: string[] = [];
  for await (const w of env.client.workflow.list({ query: `WorkflowType = 'GenerateShard'` })) children.push(w.workflowId);
  assert.ok(children.includes(`${id}/generate/hotpotqa-fireact-react-react-0`), children.join(', '));
  assert.ok(children.includes(`${id}/generate/hotpotqa-fireact-react-react-1`));
  assert.ok(children.includes(`${id}/generate/mmlu-fireact-react-react-1`));
});

test('a bad config fails in prepare, naming the field, before any episode runs', async () => {
  const bad = { ...config('bad'), generate: { ...config('bad').generate, teacher: 'nobody' } };
  const handle = await env.client.workflow.start(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId: 'e2e-bad', args: [{ config: bad }] });
  await assert.rejects(handle.result(), (err: Error) => {
    const messages: string[] = [];
    for (let e: unknown = err; e instanceof Error; e = e.cause) messages.push(e.message);
    assert.match(messages.join(' | '), /generate\.teacher: unknown model "nobody"/);
    return true;
  });
  const progress = await handle.query(progressQuery);
  assert.equal(progress.stages.generate.status, 'pending');
});
