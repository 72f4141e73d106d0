// Budget: an experiment whose cap funds about half its episodes pauses before it would pass the cap
// (the model server sees nothing past it), shows the pause, and completes after `fireact budget --add`.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import YAML from 'yaml';
import { createLedger, PAUSED_BUDGET_STAGE, raiseBudgetUpdate } from '../../core/budget';
import type { ExperimentPlan } from '../../lib/plan/plan';
import { ConfigError, parseExperimentConfig } from '../../core/config';
import { STAGE_SEARCH_ATTRIBUTE, STAGE_SEARCH_KEY } from '../../core/ids';
import { DEFAULT_PRICES } from '../../core/prices';
import { progressQuery, type ExperimentProgress } from '../../core/progress';
import { createFireactWorker } from '../../workers/fireact-worker';
import { fakeTeacher, startFakeOpenAIServer, type FakeOpenAIServer } from '../../scripts/support/fake-openai-server';
import { DATA_DIR, tempDir } from '../../scripts/support/paths';
import { startDevServer, workflowBundle } from '../../scripts/support/temporal';
import { runFireact } from '../support/cli';
import type { ExperimentResult } from '../../activities/contracts';

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let dir: string;
let fake: FakeOpenAIServer;

// Every call reports the same usage, so what each episode costs is known exactly. It is below what
// one cot episode reserves (its real first prompt counted as characters / 3, plus a full reply).
const USAGE = { prompt_tokens: 200, completion_tokens: 50 };
const price = DEFAULT_PRICES['gpt-4o-mini'];
const PER_CALL_USD = (USAGE.prompt_tokens * price.input + USAGE.completion_tokens * price.output) / 1e6;
const LIMITS = { maxMalformedRetries: 0, maxTokens: 64 };

/** What `fireact plan --json` says the budget reserves per episode, for the config in `file`. */
async function planned(file: string): Promise<ExperimentPlan> {
  const r = await fireact(['plan', file, '--json']);
  return JSON.parse(r.out) as ExperimentPlan;
}

beforeAll(async () => {
  dir = await tempDir('budget');
  env = await startDevServer();
  const teacher = fakeTeacher();
  fake = await startFakeOpenAIServer({ behaviour: async (b, n) => ({ content: (await teacher(b, n)) as string, usage: USAGE }) });
  worker = await createFireactWorker({ connection: env.nativeConnection, worker: { workflowBundle: await workflowBundle() } });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  await fake?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const fireact = (args: string[]) => runFireact(args, env.address);

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('a capped experiment pauses before passing the cap and completes after the cap is raised', async () => {
  const file = path.join(dir, 'budget.yaml');
  const artifactDir = path.join(dir, 'artifacts');
  const config = (usd: number) => ({
      name: 'budget',
      dataDir: DATA_DIR,
      artifactDir,
      cacheDir: path.join(dir, 'cache'),
      models: { teacher: { provider: 'openai', model: 'gpt-4o-mini', baseUrl: fake.url, maxTokens: LIMITS.maxTokens } },
      generate: {
        teacher: 'teacher',
        tasks: [{ task: 'hotpotqa', split: 'fireact-react', methods: ['cot'], sample: { n: 8 } }],
        shardSize: 3,
        maxParallelShards: 1,
        episodeConcurrency: 1,
        maxMalformedRetries: LIMITS.maxMalformedRetries,
      },
      curate: { requireSuccess: false, excludeEvalQuestions: false },
      datasets: [{ name: 'all', tasks: ['hotpotqa'], methods: ['cot'] }],
      budget: { usd },
  });
  await fs.writeFile(file, YAML.stringify(config(1)));
  // One episode at a time: the k-th (from 0) starts while k × PER_CALL + its reservation fits, so 4 of 8 run.
  const reserve = (await planned(file)).runs[0].reservation.usd;
  assert.ok(reserve > PER_CALL_USD, `an episode reserves ${reserve}, more than the ${PER_CALL_USD} it pays`);
  const CAP_USD = Number((reserve + 3.5 * PER_CALL_USD).toFixed(6));
  await fs.writeFile(file, YAML.stringify(config(CAP_USD)));
  const id = 'budget-1';
  const start = await fireact(['start', file, '--id', id]);
  assert.equal(start.code, 0, start.err);
  const handle = env.client.workflow.getHandle(id);

  const paused = await until('the pause', async () => {
    const p = (await handle.query(progressQuery)) as ExperimentProgress;
    return p.paused ? p : undefined;
  });
  assert.equal(paused.stage, 'generate');
  assert.equal(paused.paused!.stage, 'generate');
  assert.equal(paused.paused!.capUsd, CAP_USD);
  assert.match(paused.paused!.reason, /fireact budget <id> --add/);
  // Four episodes (one call each) fit; a fifth could have passed the cap, so it never started.
  assert.equal(fake.completionRequests, 4);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(fake.completionRequests, 4, 'no model call while paused');
  const paidSoFar = fake.completionRequests * PER_CALL_USD;
  assert.ok(paidSoFar <= CAP_USD, `paid ${paidSoFar} > cap ${CAP_USD}`);
  assert.ok(Math.abs(paused.paused!.spentUsd - paidSoFar) < 1e-12, `ledger says ${paused.paused!.spentUsd}, the server was asked for ${paidSoFar}`);
  assert.equal(paused.stages.generate.done, 4);
  assert.equal((await handle.describe()).typedSearchAttributes.get(STAGE_SEARCH_KEY), PAUSED_BUDGET_STAGE);

  const status = await fireact(['status', id]);
  assert.match(status.out, /stage: generate \(PAUSED: budget\)/);
  assert.match(status.out, new RegExp(`budget: \\$${(4 * PER_CALL_USD).toFixed(4).replace('.', '\\.')} of \\$${CAP_USD}`));

  // A raise that is not a positive number is refused by the workflow's validator and changes nothing.
  await assert.rejects(handle.executeUpdate(raiseBudgetUpdate, { args: [{ usd: -1 }] }), (err: Error) => /usd must be a positive number/.test(String(err.cause)));
  const noTokenCap = await fireact(['budget', id, '--tokens', '1000']);
  assert.equal(noTokenCap.code, 1);
  assert.match(noTokenCap.err, /budget not raised: there is no token cap to raise/);

  const raised = await fireact(['budget', id, '--add', '0.01']);
  assert.equal(raised.code, 0, raised.err);
  assert.match(raised.out, new RegExp(`cap now \\$${(CAP_USD + 0.01).toFixed(6).replace(/0+$/, '').replace('.', '\\.')}`));

  const result = (await handle.result()) as ExperimentResult;
  // Shard 1 (questions 3–5) stopped after question 3 and was resumed from 4 after the raise.
  const shardRuns: string[] = [];
  for await (const w of env.client.workflow.list({ query: `WorkflowId = '${id}/generate/hotpotqa-fireact-react-cot-1'` })) shardRuns.push(w.status.name);
  assert.deepEqual(shardRuns, ['COMPLETED', 'COMPLETED']);
  assert.equal(result.episodes, 8);
  assert.equal(result.curate.total, 8);
  assert.equal(fake.completionRequests, 8, 'each episode asked the model once: nothing paid twice');
  const files = await fs.readdir(path.join(artifactDir, id, 'trajectories', 'hotpotqa', 'fireact-react', 'cot'));
  assert.equal(files.length, 8);
  const done = (await handle.query(progressQuery)) as ExperimentProgress;
  assert.equal(done.paused, undefined);
  assert.equal(done.stages.generate.done, 8);
  assert.ok(Math.abs(done.budget!.spentUsd - 8 * PER_CALL_USD) < 1e-12);
  assert.equal((await handle.describe()).typedSearchAttributes.get(STAGE_SEARCH_KEY), 'done');

  // The pause, the update and the resumed shard replay deterministically.
  const bundle = await workflowBundle();
  await Worker.runReplayHistory({ workflowBundle: bundle }, await handle.fetchHistory(), id);
  const shard = env.client.workflow.getHandle(`${id}/generate/hotpotqa-fireact-react-cot-1`);
  await Worker.runReplayHistory({ workflowBundle: bundle }, await shard.fetchHistory(), shard.workflowId);
}, 120_000);

test('evaluation spends from the same budget: it pauses part-way and resumes from its stored episodes', async () => {
  fake.clearLog();
  const before = fake.completionRequests;
  const file = path.join(dir, 'budget-eval.yaml');
  const artifactDir = path.join(dir, 'artifacts-eval');
  const config = (usd: number) => ({
      name: 'budget-eval',
      dataDir: DATA_DIR,
      artifactDir,
      cacheDir: path.join(dir, 'cache-eval'),
      models: { teacher: { provider: 'openai', model: 'gpt-4o-mini', baseUrl: fake.url, maxTokens: LIMITS.maxTokens } },
      generate: {
        teacher: 'teacher',
        tasks: [{ task: 'hotpotqa', split: 'fireact-react', methods: ['cot'], sample: { n: 2 } }],
        episodeConcurrency: 1,
        maxMalformedRetries: LIMITS.maxMalformedRetries,
      },
      curate: { requireSuccess: false, excludeEvalQuestions: false },
      datasets: [{ name: 'all', tasks: ['hotpotqa'], methods: ['cot'] }],
      evaluate: {
        tasks: [{ task: 'hotpotqa', split: 'dev', sample: { n: 4 } }],
        baselines: [{ model: 'teacher', methods: ['cot'] }],
        episodeConcurrency: 1,
        maxParallel: 1,
        bootstrapSamples: 100,
      },
      budget: { perModel: { teacher: { usd } } },
  });
  await fs.writeFile(file, YAML.stringify(config(1)));
  // Generation (2 episodes) fits; evaluation (4) gets through 2 before the next could pass the cap.
  const reserve = (await planned(file)).evaluation!.runs[0].reservation.usd;
  const cap = Number((reserve + 3.5 * PER_CALL_USD).toFixed(6));
  await fs.writeFile(file, YAML.stringify(config(cap)));
  const id = 'budget-eval-1';
  assert.equal((await fireact(['start', file, '--id', id])).code, 0);
  const handle = env.client.workflow.getHandle(id);
  const paused = await until('the pause in evaluation', async () => {
    const p = (await handle.query(progressQuery)) as ExperimentProgress;
    return p.paused ? p : undefined;
  });
  assert.equal(paused.stage, 'evaluate');
  assert.equal(paused.paused!.model, 'teacher');
  assert.equal(fake.completionRequests - before, 4, '2 generation + 2 evaluation episodes, one call each');
  assert.ok((fake.completionRequests - before) * PER_CALL_USD <= cap);
  assert.equal((await handle.describe()).typedSearchAttributes.get(STAGE_SEARCH_KEY), PAUSED_BUDGET_STAGE);

  // The cap here is the teacher's own, so the raise names it.
  const noGlobal = await fireact(['budget', id, '--add', '1']);
  assert.match(noGlobal.err, /there is no dollar cap to raise/);
  const raised = await fireact(['budget', id, '--add', '1', '--model', 'teacher']);
  assert.equal(raised.code, 0, raised.err);
  assert.match(raised.out, new RegExp(`raised: model teacher cap now \\$${String(+(cap + 1).toFixed(6)).replace('.', '\\.')}\\n`));

  const result = (await handle.result()) as ExperimentResult;
  assert.equal(result.evaluation.length, 1);
  assert.equal(result.evaluation[0].n, 4);
  assert.ok(!('paid' in result.evaluation[0]));
  assert.equal(fake.completionRequests - before, 6, 'the two stored evaluation episodes were not asked again');
}, 120_000);

test("a budget set to plan's upper bound funds every episode from the start: it never pauses", async () => {
  const file = path.join(dir, 'budget-upper.yaml');
  const config = (usd: number) => ({
    name: 'budget-upper',
    dataDir: DATA_DIR,
    artifactDir: path.join(dir, 'artifacts-upper'),
    cacheDir: path.join(dir, 'cache-upper'),
    models: { teacher: { provider: 'openai', model: 'gpt-4o-mini', baseUrl: fake.url, maxTokens: LIMITS.maxTokens } },
    search: { backend: 'local' },
    generate: { teacher: 'teacher', tasks: [{ task: 'hotpotqa', split: 'fireact-react', methods: ['react', 'cot'], sample: { n: 3 } }], maxSteps: 3 },
    curate: { requireSuccess: false },
    datasets: [{ name: 'all', tasks: ['hotpotqa'], methods: ['react', 'cot'] }],
    evaluate: { tasks: [{ task: 'hotpotqa', split: 'dev', sample: { n: 2 } }], baselines: [{ model: 'teacher', methods: ['react'] }], maxSteps: 3, bootstrapSamples: 100 },
    budget: { usd },
  });
  await fs.writeFile(file, YAML.stringify(config(1)));
  const plan = await planned(file);
  // The upper figures are the reservations: generation and evaluation, episode by episode.
  const runs = [...plan.runs, ...plan.evaluation!.runs];
  for (const r of runs) assert.ok(Math.abs(r.costUsd.upper - r.episodes * r.reservation.usd) < 1e-12, JSON.stringify(r.reservation));
  assert.ok(Math.abs(plan.budget.reservesUsd - (plan.cost.generate.upper + plan.cost.evaluate.upper)) < 1e-12);
  await fs.writeFile(file, YAML.stringify(config(Number(plan.budget.reservesUsd.toFixed(6)) + 1e-6)));
  const id = 'budget-upper-1';
  const start = await fireact(['start', file, '--id', id]);
  assert.equal(start.code, 0, start.err);
  const handle = env.client.workflow.getHandle(id);
  await handle.result();
  const stages: string[] = [];
  for (const e of (await handle.fetchHistory()).events ?? []) {
    const p = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.[STAGE_SEARCH_ATTRIBUTE]?.data;
    if (p) stages.push(Buffer.from(p).toString());
  }
  assert.ok(stages.length > 0 && !stages.some((s) => s.includes(PAUSED_BUDGET_STAGE)), stages.join(' '));
}, 120_000);

test('a negative or zero budget is rejected naming the field', () => {
  const base = {
    name: 'b',
    models: { teacher: { provider: 'openai', model: 'gpt-4o-mini', baseUrl: 'http://127.0.0.1:1/v1' } },
    generate: { teacher: 'teacher', tasks: [{ task: 'hotpotqa', split: 'dev', methods: ['react'] }] },
    datasets: [{ name: 'd', tasks: ['hotpotqa'], methods: ['react'] }],
  };
  const problems = (budget: unknown): string[] => {
    try {
      parseExperimentConfig({ ...base, budget });
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems;
    }
    return [];
  };
  // One problem each, naming the field and the value given (the wording of bounds is config.ts's).
  const one = (budget: unknown, re: RegExp) => {
    const p = problems(budget);
    assert.equal(p.length, 1, p.join('; '));
    assert.match(p[0], re);
  };
  one({ usd: -5 }, /^budget\.usd: .*-5.*(positive|> 0)/);
  one({ tokens: 0 }, /^budget\.tokens: .*0.*(positive|> 0)/);
  one({ perModel: { teacher: { usd: 0 } } }, /^budget\.perModel\.teacher\.usd: .*(positive|> 0)/);
  one({ usd: 'ten' }, /^budget\.usd: .*number/);
  assert.deepEqual(problems({ perModel: { nope: { usd: 1 } } }), ['budget.perModel.nope: unknown model "nope"; defined models: teacher']);
  assert.deepEqual(problems({ usd: 10, tokens: 100_000 }), []);
});

test('the ledger: grants only what fits, books what was paid, and a raise makes room', () => {
  const per = { usd: 1, tokens: 100 };
  const l = createLedger({ caps: { usd: 2.5 }, perModel: { t: { tokens: 1000 } } });
  assert.ok(l.canStart('t', per));
  const allowance = l.grant('t', per, 10);
  assert.deepEqual(allowance, { usd: 2.5, tokens: 1000 }, 'the whole room, never more');
  assert.ok(!l.canStart('other', per), 'everything is granted to the running work');
  l.settle('t', allowance, { usd: 2, tokens: 40 });
  assert.ok(!l.canStart('t', per), '$0.50 left does not fund a $1 reservation');
  assert.deepEqual(l.state(true), {
    capUsd: 2.5,
    capTokens: undefined,
    spentUsd: 2,
    spentTokens: 40,
    paused: true,
    models: { t: { capUsd: undefined, capTokens: 1000, spentUsd: 2, spentTokens: 40 } },
  });
  l.raise({ usd: 1 });
  assert.ok(l.canStart('t', per));
  assert.ok(!l.canStart('t', { usd: 1, tokens: 961 }), "the model's own token cap still binds");
  l.raise({ model: 't', tokens: 100 });
  assert.ok(l.canStart('t', { usd: 1, tokens: 961 }));
  // An episode that outgrew its reservation makes the next reservations larger.
  l.outgrew('generate/react', per, { usd: 0.75, tokens: 10 });
  assert.deepEqual(l.reservation('generate/react', per), { usd: 1.5, tokens: 100 });
});
