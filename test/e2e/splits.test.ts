// Two splits of one task and method are two sets of questions: on a real dev server, with the
// teacher a local OpenAI-compatible server that logs every request, an experiment generating on
// HotpotQA dev and test (the same row numbers in both) runs every question of each split once and
// stores one trajectory per question. And an experiment of the previous release (trajectory files
// without the split in their path) resumed as a new run pays nothing again for what it finished.
// Last, the paths `fireact report` and `status` print are real ones once a shell reads them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ExperimentConfigInput } from '../../core/config';
import { TASK_QUEUE } from '../../core/ids';
import type { TrajectoryRecord } from '../../core/trajectory';
import { FireActExperiment } from '../../workflows';
import { runFireact } from '../support/cli';
import { fakeTeacher, startFakeOpenAIServer, type FakeOpenAIServer } from '../../scripts/support/fake-openai-server';
import { DATA_DIR, tempDir } from '../../scripts/support/paths';
import { startStack } from '../../scripts/support/temporal';

let env: TestWorkflowEnvironment;
let stack: Awaited<ReturnType<typeof startStack>>;
let dir: string;
let teacher: FakeOpenAIServer;

beforeAll(async () => {
  dir = await tempDir('splits');
  teacher = await startFakeOpenAIServer({ behaviour: fakeTeacher() });
  stack = await startStack();
  env = stack.env;
});

afterAll(async () => {
  await stack?.stop();
  await teacher?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const N = 6;
const config = (cacheDir: string): ExperimentConfigInput => ({
  name: 'splits',
  dataDir: DATA_DIR,
  artifactDir: path.join(dir, 'artifacts'),
  cacheDir: path.join(dir, cacheDir),
  models: { teacher: { provider: 'openai', model: 'fake-gpt', baseUrl: teacher.url, maxConcurrency: 4 } },
  search: { backend: 'local' },
  generate: {
    teacher: 'teacher',
    // Both samples are rows 0..5 of their split: the row numbers (question ids) are the same.
    tasks: [
      { task: 'hotpotqa', split: 'dev', methods: ['react'], sample: { n: N, order: 'file' } },
      { task: 'hotpotqa', split: 'test', methods: ['react'], sample: { n: N, order: 'file' } },
    ],
    shardSize: N,
    maxParallelShards: 2,
  },
  // The fake teacher's answers are wrong and test has no gold answers: keep every finished episode.
  curate: { requireSuccess: false, excludeEvalQuestions: false },
  datasets: [{ name: 'hotpotqa', tasks: ['hotpotqa'], methods: ['react'] }],
});

/** The question of each chat request the teacher received since `from` (its first user turn). */
function questionsSent(from: number): string[] {
  return teacher.requests.slice(from).flatMap((r) => {
    const body = r.body as { messages?: Array<{ role: string; content: string }> } | undefined;
    const user = body?.messages?.find((m) => m.role === 'user');
    return r.requestNumber > 0 && user ? [user.content] : [];
  });
}

async function trajectories(exp: string): Promise<Map<string, TrajectoryRecord>> {
  const out = new Map<string, TrajectoryRecord>();
  const root = path.join(dir, 'artifacts', exp, 'trajectories');
  // <task>/<split>/<method>/<row>.json; files of the previous release's layout sit one level up.
  for (const file of (await fs.readdir(root, { recursive: true })).filter((f) => f.endsWith('.json') && f.split(path.sep).length === 4)) {
    const r = JSON.parse(await fs.readFile(path.join(root, file), 'utf8')) as TrajectoryRecord;
    assert.equal(path.dirname(file), path.join(r.question.task, r.question.split, r.method), `${file} lies in its split's folder`);
    out.set(r.id, r);
  }
  return out;
}

async function shardIds(exp: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const w of env.client.workflow.list({ query: `WorkflowType = 'GenerateShard'` })) if (w.workflowId.startsWith(`${exp}/`)) ids.push(w.workflowId);
  return ids.sort();
}

test('two splits of one task and method: every question of both is asked once and stored once', async () => {
  const from = teacher.requests.length;
  const result = await env.client.workflow.execute(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId: 'splits-1', args: [{ config: config('cache') }] });
  const total = 2 * N;

  assert.equal(result.episodes, total);
  assert.equal(result.curate.total, total);
  assert.equal(result.curate.drops.missing, undefined, 'no episode is missing');
  const stored = await trajectories('splits-1');
  assert.equal(stored.size, total, `distinct trajectories: ${[...stored.keys()].join(', ')}`);
  assert.equal(new Set([...stored.values()].map((r) => `${r.question.split}\u0000${r.question.text}`)).size, total);
  assert.ok(stored.has('hotpotqa/dev/react/0') && stored.has('hotpotqa/test/react/0'));

  const sent = questionsSent(from);
  assert.equal(new Set(sent).size, total, 'distinct questions sent to the teacher');
  for (const r of stored.values()) assert.ok(sent.some((s) => s.includes(r.question.text)), `${r.id} was asked`);
  assert.equal(result.generate.calls, total, 'one teacher call per episode, none answered from another split');

  assert.deepEqual(await shardIds('splits-1'), ['splits-1/generate/hotpotqa-dev-react-0', 'splits-1/generate/hotpotqa-test-react-0']);
}, 120_000);

test("the previous release's trajectory files are reused by a new run only for the split that wrote them", async () => {
  // Make an experiment as the previous release left it: files at trajectories/<task>/<method>/<row>.json
  // with ids <task>/<method>/<row>. There, dev and test shared those files, so only dev's exist.
  const src = path.join(dir, 'artifacts', 'splits-1');
  const old = path.join(dir, 'artifacts', 'legacy-1');
  await fs.cp(src, old, { recursive: true });
  await fs.rm(path.join(old, 'trajectories'), { recursive: true });
  await fs.mkdir(path.join(old, 'trajectories', 'hotpotqa', 'react'), { recursive: true });
  for (let row = 0; row < N; row++) {
    const r = JSON.parse(await fs.readFile(path.join(src, 'trajectories', 'hotpotqa', 'dev', 'react', `${row}.json`), 'utf8')) as TrajectoryRecord;
    const legacy = { ...r, id: `hotpotqa/react/${row}`, experiment: 'legacy-1' };
    await fs.writeFile(path.join(old, 'trajectories', 'hotpotqa', 'react', `${row}.json`), JSON.stringify(legacy, null, 2));
  }

  // `fireact resume legacy-1 --new` starts legacy-1-r1 with artifactsOf; a fresh cache dir makes
  // sure nothing is answered from the first run's cached calls, only from the files.
  const from = teacher.requests.length;
  const result = await env.client.workflow.execute(FireActExperiment, {
    taskQueue: TASK_QUEUE,
    workflowId: 'legacy-1-r1',
    args: [{ config: config('cache-2'), artifactsOf: 'legacy-1' }],
  });
  assert.equal(result.curate.total, 2 * N);
  assert.equal(result.curate.drops.missing, undefined);

  const sent = questionsSent(from);
  assert.equal(sent.length, N, 'only the test split was asked');
  const stored = await trajectories('legacy-1');
  assert.equal(stored.size, 2 * N);
  for (let row = 0; row < N; row++) {
    const dev = stored.get(`hotpotqa/dev/react/${row}`)!;
    const testRecord = stored.get(`hotpotqa/test/react/${row}`)!;
    assert.ok(!sent.some((s) => s.includes(dev.question.text)), `dev row ${row} came from its old file`);
    assert.ok(sent.some((s) => s.includes(testRecord.question.text)), `test row ${row} was run, not handed dev's file`);
  }
  // The old files stay where they were (nothing already done is lost).
  assert.equal((await fs.readdir(path.join(old, 'trajectories', 'hotpotqa', 'react'))).filter((f) => f.endsWith('.json')).length, N);
}, 120_000);

test('printed paths are real after a shell reads them, even with a space and a quote in artifactDir', async () => {
  const artifactDir = path.join(dir, "bob's artifacts");
  const c: ExperimentConfigInput = {
    name: 'paths',
    dataDir: DATA_DIR,
    artifactDir,
    cacheDir: path.join(dir, 'cache-3'),
    models: { teacher: { provider: 'replay', model: 'gpt-4', replayFiles: ['hotpotqa'] } },
    generate: { teacher: 'teacher', tasks: [{ task: 'hotpotqa', split: 'fireact-react', methods: ['react'], sample: { n: 2 } }] },
    datasets: [{ name: 'hotpotqa', tasks: ['hotpotqa'], methods: ['react'] }],
  };
  await env.client.workflow.execute(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId: 'paths-1', args: [{ config: c }] });
  const report = await runFireact(['report', 'paths-1'], env.address);
  assert.equal(report.code, 0, report.err);
  const status = await runFireact(['status', 'paths-1'], env.address);
  const printed = [...report.out.matchAll(/^(?:report\.md|report\.html|summary\.json): +(.+)$/gm), ...status.out.matchAll(/^ {2}artifacts: (.+)$/gm)].map((m) => m[1]);
  assert.equal(printed.length, 4, report.out + status.out);
  for (const word of printed) {
    // As a user pastes it: `ls -d <printed>` must name one existing path under artifactDir.
    const listed = execFileSync('sh', ['-c', `ls -d ${word}`]).toString().trim();
    assert.ok(listed.startsWith(artifactDir), listed);
  }
}, 120_000);
