// Records workflow histories of this release as replay fixtures for the next one.
//
// test/workflow/replay.test.ts replays every fixture against the current workflow code, so a change that
// would break experiments in flight (a command added, removed or reordered without `patched()`)
// fails the suite. Before releasing workflow changes, record the released code's histories:
//
//   git worktree add /tmp/fireact-prev <release commit>
//   ln -s "$PWD/node_modules" /tmp/fireact-prev/node_modules
//   cp scripts/record-histories.ts /tmp/fireact-prev/scripts/    # when the release predates it
//   (cd /tmp/fireact-prev && node --import tsx scripts/record-histories.ts \
//       --out "$OLDPWD/test/fixtures/histories/v<N>" --data-dir "$OLDPWD/../shared/fireact")
//   git worktree remove --force /tmp/fireact-prev
//
// It starts a dev server and in-process workers, runs small experiments (a replayed one through to
// the report; one with a tiny local student trained and evaluated; one cancelled in the middle of
// generation; one with a hosted "openai" student against the local fine-tuning server, and one
// cancelled while that job runs; one whose shard runs its episodes in chunks of several per
// activity, more chunks than run at once; one generating through the Batch API) and writes each
// workflow run as <out>/<workflow id, "/" → "__">[.<n>].json:
// { scenario, workflowId, runId, workflowType, history }, `history` in Temporal's JSON form.
// Artifacts go to /tmp/fireact-fixture, and the data is read through a link there, so no personal
// path lands in the fixtures.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { TASK_QUEUE } from '../core/ids';
import { progressQuery } from '../core/progress';
import { FireActExperiment } from '../workflows';
import { createFireactWorkers } from '../workers/fireact-worker';
import { startFakeFineTuneServer } from './support/fake-finetune-server';
import { fakeTeacher, startFakeOpenAIServer } from './support/fake-openai-server';
import { historyToJsonValue } from './support/history-json';
import { startDevServer, workflowBundle } from './support/temporal';

const WORK = '/tmp/fireact-fixture';
/** The variable the workers read the local fine-tuning server's key from. */
const FT_KEY_ENV = 'FIREACT_FIXTURE_FT_KEY';

function baseConfig(name: string, dataDir: string) {
  return {
    name,
    dataDir,
    artifactDir: path.join(WORK, 'artifacts'),
    cacheDir: path.join(WORK, 'cache'),
    models: { teacher: { provider: 'replay', model: 'gpt-4 (recorded)', replayFiles: ['multitask_multimethod'] } },
    search: { backend: 'replay', fallback: 'local' },
    generate: {
      teacher: 'teacher',
      tasks: [
        { task: 'hotpotqa', split: 'fireact-react', methods: ['react'], sample: { n: 4 } },
        { task: 'hotpotqa', split: 'fireact-cot', methods: ['cot'], sample: { n: 3 } },
        { task: 'strategyqa', split: 'fireact-react', methods: ['react'], sample: { n: 3 } },
      ],
      shardSize: 4,
      maxParallelShards: 2,
      episodeConcurrency: 2,
    },
    datasets: [
      { name: 'hotpotqa-react', tasks: ['hotpotqa'], methods: ['react'] },
      { name: 'all', tasks: ['hotpotqa', 'strategyqa'], methods: ['react', 'cot'] },
    ],
  };
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      'data-dir': { type: 'string', default: path.resolve(__dirname, '..', '..', 'shared', 'fireact') },
      only: { type: 'string' },
    },
  });
  if (!values.out) throw new Error('usage: record-histories.ts --out DIR [--data-dir DIR] [--only replay,student,cancel,openai,openai-cancel,chunks,batch]');
  const out = path.resolve(values.out);
  // The runs read the data through a link under WORK, so the data folder's own path stays out of the fixtures.
  const dataDir = path.join(WORK, 'data');
  const only = new Set((values.only ?? 'replay,student,cancel,openai,openai-cancel,chunks,batch').split(','));
  await fs.rm(WORK, { recursive: true, force: true });
  await fs.mkdir(out, { recursive: true });
  await fs.mkdir(WORK, { recursive: true });
  await fs.symlink(path.resolve(values['data-dir']!), dataDir);

  const env: TestWorkflowEnvironment = await startDevServer();
  const model = await startFakeOpenAIServer({
    behaviour: async (b, n) => ({ content: (await fakeTeacher()(b, n)) as string, delayMs: 300 }),
    batch: { validatingMs: 10, inProgressMs: 40, finalizingMs: 10 },
  });
  const ft = await startFakeFineTuneServer();
  process.env[FT_KEY_ENV] = ft.apiKey;
  const workers = await createFireactWorkers({ connection: env.nativeConnection, worker: { workflowBundle: await workflowBundle() } });
  const running = Promise.all(workers.map((w) => w.run()));
  const scenarioOf = new Map<string, string>();
  try {
    const client = env.client;
    if (only.has('replay')) {
      const id = 'fixture-replay';
      scenarioOf.set(id, 'replay');
      await client.workflow.execute(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId: id, args: [{ config: baseConfig('fixture-replay', dataDir) }] });
    }
    if (only.has('student')) {
      const id = 'fixture-student';
      scenarioOf.set(id, 'student');
      const config = {
        ...baseConfig('fixture-student', dataDir),
        datasets: [{ name: 'all', tasks: ['hotpotqa', 'strategyqa'], methods: ['react', 'cot'] }],
        students: [
          {
            name: 'tiny',
            backend: 'local',
            baseModel: 'init',
            init: { hidden: 32, layers: 1, heads: 2, seed: 0 },
            mode: 'full',
            datasets: ['all'],
            maxSteps: 20,
            saveEvery: 10,
            batchSize: 2,
            maxLen: 256,
            learningRate: 0.003,
          },
        ],
        evaluate: { tasks: [{ task: 'hotpotqa', split: 'dev', sample: { n: 2 } }], baseModels: true, maxSteps: 2, maxParallel: 2 },
      };
      await client.workflow.execute(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId: id, args: [{ config }] });
    }
    if (only.has('cancel')) {
      const id = 'fixture-cancel';
      scenarioOf.set(id, 'cancel');
      const config = {
        ...baseConfig('fixture-cancel', dataDir),
        models: { teacher: { provider: 'openai', model: 'fake-teacher', baseUrl: model.url } },
        search: { backend: 'local', fallback: 'none' },
        generate: { teacher: 'teacher', tasks: [{ task: 'hotpotqa', split: 'dev', methods: ['cot'], sample: { n: 12 } }], shardSize: 3, maxParallelShards: 2, episodeConcurrency: 1 },
        datasets: [{ name: 'all', tasks: ['hotpotqa'], methods: ['cot'] }],
      };
      const handle = await client.workflow.start(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId: id, args: [{ config }] });
      // Cancel once a shard has finished and others are running: the history then holds completed
      // and cancelled children.
      await waitFor(async () => (await handle.query(progressQuery)).stages.generate.done >= 3, 'a finished shard');
      await handle.cancel();
      await handle.result().catch(() => undefined);
    }
    if (only.has('chunks')) {
      // 'episode-chunks': runEpisodes activities of 2 episodes, 4 episodes at once, so a third chunk
      // starts when one of the first two ends.
      const id = 'fixture-chunks';
      scenarioOf.set(id, 'chunks');
      const config = {
        ...baseConfig('fixture-chunks', dataDir),
        generate: { teacher: 'teacher', tasks: [{ task: 'hotpotqa', split: 'fireact-react', methods: ['react'], sample: { n: 6 } }], shardSize: 6, episodeConcurrency: 4, episodesPerActivity: 2 },
        datasets: [{ name: 'all', tasks: ['hotpotqa'], methods: ['react'] }],
      };
      await client.workflow.execute(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId: id, args: [{ config }] });
    }
    if (only.has('batch')) {
      // 'batch-generation': a GenerateBatch child, its rounds and timers, against the local Batch API.
      const id = 'fixture-batch';
      scenarioOf.set(id, 'batch');
      const config = {
        ...baseConfig('fixture-batch', dataDir),
        models: { teacher: { provider: 'openai', model: 'fake-teacher', baseUrl: model.url } },
        search: { backend: 'local', fallback: 'none' },
        generate: {
          teacher: 'teacher',
          tasks: [{ task: 'hotpotqa', split: 'dev', methods: ['cot'], sample: { n: 3 } }],
          mode: 'batch',
          batch: { pollMinSeconds: 0.05, pollMaxSeconds: 0.2 },
        },
        curate: { requireSuccess: false, excludeEvalQuestions: false },
        datasets: [{ name: 'all', tasks: ['hotpotqa'], methods: ['cot'] }],
      };
      await client.workflow.execute(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId: id, args: [{ config }] });
    }

    const hostedStudent = (name: string) => ({
      ...baseConfig(name, dataDir),
      models: { teacher: { provider: 'replay', model: 'gpt-4 (recorded)', replayFiles: ['hotpotqa'] } },
      generate: { teacher: 'teacher', tasks: [{ task: 'hotpotqa', split: 'fireact-react', methods: ['react'], sample: { n: 12 } }] },
      datasets: [{ name: 'hotpotqa', tasks: ['hotpotqa'], methods: ['react'] }],
      students: [{ name: 'gpt35', backend: 'openai', baseModel: 'gpt-3.5-turbo-0125', baseUrl: ft.url, apiKeyEnv: FT_KEY_ENV, datasets: ['hotpotqa'], nEpochs: 2 }],
    });
    if (only.has('openai')) {
      const id = 'fixture-openai';
      scenarioOf.set(id, 'openai');
      await client.workflow.execute(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId: id, args: [{ config: hostedStudent(id) }] });
    }
    if (only.has('openai-cancel')) {
      const id = 'fixture-openai-cancel';
      scenarioOf.set(id, 'openai-cancel');
      ft.setSpeed({ stepMs: 1000, totalSteps: 400 });
      const earlier = new Set(ft.jobs().map((j) => j.id));
      const handle = await client.workflow.start(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId: id, args: [{ config: hostedStudent(id) }] });
      // Cancel while the job runs: the history then holds the follower cancelled and the job cancelled.
      await waitFor(async () => ft.jobs().some((j) => !earlier.has(j.id) && j.status === 'running'), 'the fine-tuning job to run');
      await handle.cancel();
      await handle.result().catch(() => undefined);
    }

    // Every run must be closed before its history is final.
    await waitFor(async () => {
      for await (const w of client.workflow.list({ query: 'ExecutionStatus = "Running"' })) if (w) return false;
      return true;
    }, 'all runs to close');
    const runs: Array<{ workflowId: string; runId: string; type: string; start: number }> = [];
    for await (const w of client.workflow.list()) runs.push({ workflowId: w.workflowId, runId: w.runId, type: w.type, start: w.startTime.getTime() });
    runs.sort((a, b) => a.workflowId.localeCompare(b.workflowId) || a.start - b.start);
    const seen = new Map<string, number>();
    let bytes = 0;
    for (const r of runs) {
      const n = seen.get(r.workflowId) ?? 0;
      seen.set(r.workflowId, n + 1);
      const history = await client.workflow.getHandle(r.workflowId, r.runId).fetchHistory();
      const root = r.workflowId.split('/')[0];
      const body = JSON.stringify({ scenario: scenarioOf.get(root) ?? root, workflowId: r.workflowId, runId: r.runId, workflowType: r.type, history: historyToJsonValue(history) });
      const file = path.join(out, `${r.workflowId.replace(/\//g, '__')}${n ? `.${n}` : ''}.json`);
      await fs.writeFile(file, body + '\n');
      bytes += body.length;
    }
    process.stdout.write(`recorded ${runs.length} workflow runs, ${(bytes / 1024).toFixed(0)} KB, in ${out}\n`);
  } finally {
    for (const w of workers) w.shutdown();
    await running;
    await model.close();
    await ft.close();
    await env.teardown();
    await fs.rm(WORK, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`record-histories: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
