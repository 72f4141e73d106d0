// `fireact plan`: the samples it shows (generate and evaluate) are the ones prepareExperiment freezes,
// its evaluation runs are the ones the workflow builds (core/eval-plan), its counts, estimates and
// training costs add up, and missing secrets, data or base models are reported (exit 1), in-process and via the CLI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, test } from '@jest/globals';
import { MockActivityEnvironment } from '@temporalio/testing';
import YAML from 'yaml';
import { parseExperimentConfig, type ExperimentConfigInput } from '../../core/config';
import { evalBaselines, evalRunName, evalRuns, evalTargets, type TrainedStudent } from '../../core/eval-plan';
import type { Question } from '../../core/trajectory';
import { createActivities } from '../../activities';
import { createClientProvider } from '../../lib/experiment/clients';
import { loadConfigFile } from '../../lib/experiment/config-file';
import { layout } from '../../lib/experiment/layout';
import { loadQuestions } from '../../lib/experiment/questions';
import { freezeSample, type SampleFile } from '../../lib/experiment/sample';
import { openAIAutoEpochs } from '../../lib/plan/estimates';
import { planExperiment, type ExperimentPlan } from '../../lib/plan/plan';
import { DEFAULT_PRICES, estimateCost, estimateTrainingCost, lookupPrice, PriceTableSchema } from '../../core/prices';
import { sampleQuestions } from '../../lib/tasks/sampling';
import { DATA_DIR, REPO_ROOT, tempDir } from '../../scripts/support/paths';
import type { PrepareResult } from '../../activities/contracts';

const KEY_VAR = 'FIREACT_PLAN_TEST_KEY';
const STUDENT_KEY_VAR = 'FIREACT_PLAN_TEST_STUDENT_KEY';
let dir: string;

beforeAll(async () => {
  dir = await tempDir('plan');
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const STRATEGYQA_TEST_SIZE = 490;

function smallConfig(over: Partial<ExperimentConfigInput> = {}): ExperimentConfigInput {
  return {
    name: 'small',
    dataDir: DATA_DIR,
    artifactDir: path.join(dir, 'artifacts'),
    cacheDir: path.join(dir, 'cache'),
    models: { teacher: { provider: 'openai', model: 'gpt-4', apiKeyEnv: KEY_VAR } },
    generate: {
      teacher: 'teacher',
      tasks: [
        // Not the eval splits (dev): generating on those is a problem of its own.
        { task: 'hotpotqa', split: 'test', methods: ['react', 'cot'], sample: { n: 7, order: 'fireact' } },
        { task: 'strategyqa', split: 'test', methods: ['reflexion'], sample: { n: 4, seed: 9 } },
      ],
      shardSize: 3,
      maxSteps: 6,
      reflexion: { maxTrials: 2, stepsPerTrial: 4 },
    },
    datasets: [{ name: 'hq', tasks: ['hotpotqa'], methods: ['react'] }],
    ...over,
  };
}

function runCli(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'fireact.js'), ...args], { cwd: REPO_ROOT, env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function envWithout(name: string): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env[name];
  return env;
}

test('the demo plan freezes the same questions as prepareExperiment, with matching counts', async () => {
  const config = await loadConfigFile(path.join(REPO_ROOT, 'examples', 'demo.yaml'));
  const clients = createClientProvider({});
  const plan = await planExperiment(config, clients, { env: {}, base: REPO_ROOT });

  assert.deepEqual(plan.problems, []);
  assert.deepEqual(plan.missingSecrets, []);
  assert.equal(plan.teacher.replay, true);
  assert.equal(plan.samples.length, config.generate.tasks.length);
  const ns = config.generate.tasks.map((t) => t.sample.n!);
  assert.deepEqual(plan.samples.map((s) => s.n), ns);
  assert.equal(plan.totals.questions, 260);
  assert.equal(plan.totals.episodes, 260);
  assert.equal(plan.totals.shards, ns.reduce((s, n) => s + Math.ceil(n / 20), 0));
  // Every demo question has a recording of its method, so no episode will be left unfinished by a miss.
  for (const r of plan.runs) assert.equal(r.recorded, r.episodes, `${r.task} ${r.split} ${r.method}`);
  assert.equal(plan.models[0].flags.includes('unpriced'), true);
  assert.equal(plan.totals.costUsd.upper, 0);
  const byName = Object.fromEntries(plan.datasets.map((d) => [d.name, d]));
  assert.equal(byName['multitask-multimethod'].episodes, 260);
  assert.equal(byName['hotpotqa-react'].episodes, 60);

  // The same shared function prepareExperiment calls, and an independent sampling of the split.
  const resolved = { ...config, dataDir: DATA_DIR };
  for (const [i, entry] of config.generate.tasks.entries()) {
    const frozen = await freezeSample(clients, resolved, entry, `generate.tasks.${i}`);
    assert.deepEqual(plan.samples[i].ids, frozen.file.questions.map((q) => q.id));
    assert.deepEqual(plan.samples[i].indices, frozen.indices);
    const all = await loadQuestions(clients, resolved, entry.task, entry.split);
    const direct = sampleQuestions(all, { n: entry.sample.n, order: entry.sample.order, seed: entry.sample.seed ?? config.seed });
    assert.deepEqual(plan.samples[i].ids, direct.map((q) => q.id));
    assert.deepEqual(plan.samples[i].indices.map((k) => all[k].id), plan.samples[i].ids);
  }
});

test('prepareExperiment writes exactly the samples and shards the plan shows, and reserves what it shows', async () => {
  const raw = smallConfig({ name: 'prep', budget: { usd: 100 } });
  const env = { [KEY_VAR]: 'sk-test' };
  const plan = await planExperiment(parseExperimentConfig(raw), createClientProvider(env), { env });
  assert.deepEqual(plan.problems, []);

  const activities = createActivities({ env, clients: createClientProvider(env) });
  const prepared: PrepareResult = await new MockActivityEnvironment().run(activities.prepareExperiment, { experiment: 'prep-1', config: raw });
  assert.equal(prepared.episodes, plan.totals.episodes);
  assert.equal(prepared.questions, plan.totals.questions);
  assert.equal(prepared.shards.length, plan.totals.shards);
  // One cost model: the ledger's reservations are the plan's, computed by the same code.
  for (const r of plan.runs) assert.deepEqual(prepared.budget!.generate[r.method], r.reservation, r.method);
  assert.ok(plan.runs.every((r) => r.reservation.usd > 0));
  for (const s of plan.samples) {
    const file = JSON.parse(await fs.readFile(path.join(dir, 'artifacts', layout.sample('prep-1', s.task, s.split)), 'utf8')) as {
      seed: number;
      splitSize: number;
      questions: Question[];
    };
    assert.deepEqual(file.questions.map((q) => q.id), s.ids);
    assert.equal(file.seed, s.seed);
    assert.equal(file.splitSize, s.splitSize);
  }
});

test('a small openai config: calls, tokens and cost follow the step caps and the price table', async () => {
  const plan = await planExperiment(parseExperimentConfig(smallConfig()), createClientProvider({}), { env: { [KEY_VAR]: 'sk-test' } });
  assert.deepEqual(plan.problems, []);
  assert.deepEqual(
    plan.samples.map((s) => [s.task, s.split, s.order, s.seed, s.splitSize, s.n]),
    [
      ['hotpotqa', 'test', 'fireact', 233, 7405, 7],
      ['strategyqa', 'test', 'seeded', 9, STRATEGYQA_TEST_SIZE, 4],
    ],
  );
  const run = (method: string) => plan.runs.find((r) => r.method === method)!;
  assert.deepEqual(
    plan.runs.map((r) => [r.task, r.method, r.episodes, r.shards]),
    [
      ['hotpotqa', 'react', 7, 3],
      ['hotpotqa', 'cot', 7, 3],
      ['strategyqa', 'reflexion', 4, 2],
    ],
  );
  assert.deepEqual(run('cot').callsPerEpisode, { typical: 1, upper: 1 });
  assert.equal(run('react').callsPerEpisode.upper, 6 + 1); // maxSteps + the forced finish
  assert.equal(run('reflexion').callsPerEpisode.upper, 2 * 4 + 1);
  assert.ok(run('react').callsPerEpisode.typical < run('react').callsPerEpisode.upper);
  assert.equal(run('react').searchesPerEpisode.upper, 6);
  assert.equal(run('cot').searchesPerEpisode.upper, 0);
  // The first prompt holds the system prompt with its two worked examples: far more than a question.
  assert.ok(run('react').firstPromptTokens > 300, String(run('react').firstPromptTokens));
  // One cot call per episode: prompt tokens are exactly episodes × first prompt.
  assert.equal(run('cot').tokens.typical.prompt, 7 * run('cot').firstPromptTokens);
  assert.equal(run('cot').tokens.upper.completion, 7 * 512);
  // Later calls carry earlier steps: react's prompt tokens exceed calls × first prompt.
  assert.ok(run('react').tokens.typical.prompt > run('react').calls.typical * run('react').firstPromptTokens);
  for (const r of plan.runs) {
    const want = (r.tokens.typical.prompt * 30 + r.tokens.typical.completion * 60) / 1e6;
    assert.ok(Math.abs(r.costUsd.typical - want) < 1e-9, `${r.method}: ${r.costUsd.typical} vs ${want}`);
    assert.ok(r.costUsd.upper >= r.costUsd.typical);
  }
  assert.equal(plan.models[0].priceKey, 'gpt-4');
  assert.ok(Math.abs(plan.totals.costUsd.typical - plan.runs.reduce((s, r) => s + r.costUsd.typical, 0)) < 1e-9);
  assert.deepEqual(
    plan.datasets.map((d) => [d.name, d.episodes, d.recordsAtMost]),
    [['hq', 7, 7]],
  );
  // The upper figures are what the budget reserves, episode by episode.
  for (const r of plan.runs) assert.ok(Math.abs(r.costUsd.upper - r.episodes * r.reservation.usd) < 1e-12, `${r.method}: ${r.costUsd.upper}`);

  // A mix no generation entry feeds would be empty: a problem.
  const none = await planExperiment(parseExperimentConfig(smallConfig({ datasets: [...smallConfig().datasets!, { name: 'none', tasks: ['mmlu'], methods: ['react'] }] })), createClientProvider({}), {
    env: { [KEY_VAR]: 'sk-test' },
  });
  assert.deepEqual(none.problems, ['dataset "none" would be empty: no generation entry has one of its tasks (mmlu) with one of its methods (react)']);

  // Overrides replace the list price.
  const cheap = await planExperiment(parseExperimentConfig(smallConfig()), createClientProvider({}), {
    env: { [KEY_VAR]: 'sk-test' },
    prices: { 'gpt-4': { input: 1, output: 1 } },
  });
  const t = cheap.totals.tokens.typical;
  assert.ok(Math.abs(cheap.totals.costUsd.typical - (t.prompt + t.completion) / 1e6) < 1e-9);
});

test('an unset apiKeyEnv, a missing split file and an oversized sample are problems', async () => {
  const empty = path.join(dir, 'empty-data');
  await fs.mkdir(empty, { recursive: true });
  const raw = smallConfig({ dataDir: empty });
  const plan = await planExperiment(parseExperimentConfig(raw), createClientProvider({}), { env: {} });
  assert.deepEqual(plan.missingSecrets, [KEY_VAR]);
  assert.ok(plan.problems.some((p) => p.startsWith('missing secret') && p.includes(KEY_VAR)), plan.problems.join('\n'));
  assert.ok(plan.problems.some((p) => p.startsWith('missing data') && p.includes('generate.tasks.0')), plan.problems.join('\n'));
  assert.equal(plan.samples[0].splitSize, null);
  assert.equal(plan.totals.episodes, 0);

  const big = smallConfig();
  big.generate.tasks[1] = { task: 'strategyqa', split: 'dev', methods: ['react'], sample: { n: 230 } };
  const p2 = await planExperiment(parseExperimentConfig(big), createClientProvider({}), { env: { [KEY_VAR]: 'x' } });
  assert.equal(p2.problems.length, 1);
  assert.match(p2.problems[0], /generate\.tasks\.1 \(strategyqa dev\): sample n = 230 is larger than the split, which has 229/);
});

test('prices: snapshots and fine-tuned names find their family; replay and unknown models are unpriced', () => {
  assert.equal(lookupPrice('gpt-4o-2024-08-06')?.key, 'gpt-4o');
  assert.equal(lookupPrice('gpt-4o-mini-2024-07-18')?.key, 'gpt-4o-mini');
  assert.equal(lookupPrice('gpt-4-0613')?.key, 'gpt-4-0613');
  assert.equal(lookupPrice('ft:gpt-4o-mini-2024-07-18:acme::abc123')?.key, 'ft:gpt-4o-mini');
  assert.equal(lookupPrice('gpt-4-turbo-preview'), undefined);
  assert.deepEqual(estimateCost({ provider: 'openai', model: 'gpt-4' }, { promptTokens: 1_000_000, completionTokens: 500_000 }), {
    usd: 60,
    flags: [],
    priceKey: 'gpt-4',
  });
  assert.deepEqual(estimateCost({ provider: 'replay', model: 'gpt-4' }, { promptTokens: 1e6, completionTokens: 1e6 }), { usd: 0, flags: ['unpriced'] });
  assert.deepEqual(estimateCost({ provider: 'openai', model: 'llama-3-8b' }, { promptTokens: 1e6, completionTokens: 1e6 }), { usd: 0, flags: ['unpriced'] });
  assert.equal(estimateTrainingCost({ provider: 'openai', model: 'gpt-3.5-turbo-0125' }, 1_000_000, 3).usd, 24);
  assert.deepEqual(estimateTrainingCost({ provider: 'openai', model: 'gpt-4' }, 1e6).flags, ['unpriced']);
  assert.ok(PriceTableSchema.safeParse(DEFAULT_PRICES).success);
  assert.equal(PriceTableSchema.safeParse({ x: { input: -1, output: 1 } }).success, false);
  assert.equal(PriceTableSchema.safeParse({ x: { input: 1, output: 1, extra: 2 } }).success, false);
});

test('CLI: plan --json on the demo matches the in-process plan and exits 0', async () => {
  const r = runCli(['plan', 'examples/demo.yaml', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const cli = JSON.parse(r.stdout) as ExperimentPlan;
  const config = await loadConfigFile(path.join(REPO_ROOT, 'examples', 'demo.yaml'));
  const local = await planExperiment(config, createClientProvider({}), { env: {}, base: REPO_ROOT });
  assert.deepEqual(cli.samples, local.samples);
  assert.deepEqual(cli.totals, local.totals);
  assert.deepEqual(cli.problems, []);
});

test('CLI: an unset apiKeyEnv is reported by variable name and exits 1, as text and as JSON', async () => {
  const file = path.join(dir, 'needs-key.yaml');
  await fs.writeFile(file, YAML.stringify(smallConfig({ name: 'needs-key' })));
  const text = runCli(['plan', file], envWithout(KEY_VAR));
  assert.equal(text.status, 1, text.stderr);
  assert.match(text.stdout, /problems \(1\):/);
  assert.ok(text.stdout.includes(`environment variable ${KEY_VAR}`), text.stdout);
  assert.match(text.stdout, /question samples/);

  const json = runCli(['plan', file, '--json'], envWithout(KEY_VAR));
  assert.equal(json.status, 1);
  const plan = JSON.parse(json.stdout) as ExperimentPlan;
  assert.deepEqual(plan.missingSecrets, [KEY_VAR]);
  assert.ok(json.stderr.includes(KEY_VAR));

  const ok = runCli(['plan', file, '--json'], { ...process.env, [KEY_VAR]: 'sk-set' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual((JSON.parse(ok.stdout) as ExperimentPlan).problems, []);
});

test('CLI: a config that fails validation exits 1 naming the field', async () => {
  const file = path.join(dir, 'bad.yaml');
  const bad = smallConfig();
  (bad.generate as { teacher: string }).teacher = 'nobody';
  await fs.writeFile(file, YAML.stringify(bad));
  const r = runCli(['plan', file]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /generate\.teacher: unknown model "nobody"/);
});

/** smallConfig with two students, a second dataset mix and an evaluate section with baselines and tool noise. */
function fullConfig(modelDir: string, over: Partial<ExperimentConfigInput> = {}): ExperimentConfigInput {
  const base = smallConfig();
  return {
    ...base,
    name: 'full',
    models: { ...base.models, mini: { provider: 'openai', model: 'gpt-4o-mini', apiKeyEnv: KEY_VAR } },
    datasets: [
      { name: 'hq', tasks: ['hotpotqa'], methods: ['react'] },
      { name: 'all', tasks: ['hotpotqa', 'strategyqa'], methods: ['react', 'cot', 'reflexion'] },
    ],
    students: [
      { name: 'llama', backend: 'local', baseModel: modelDir, mode: 'lora', gpus: 2, datasets: ['hq', 'all'], evalMethods: ['react', 'cot'] },
      { name: 'gpt35', backend: 'openai', baseModel: 'gpt-3.5-turbo-0125', apiKeyEnv: STUDENT_KEY_VAR, datasets: ['hq'], nEpochs: 2 },
    ],
    evaluate: {
      tasks: [
        { task: 'hotpotqa', split: 'dev', sample: { n: 3, order: 'fireact' } },
        { task: 'strategyqa', split: 'dev', sample: { n: 2 } },
      ],
      baselines: [
        { model: 'teacher', methods: ['react'] },
        { model: 'mini', methods: ['cot', 'react'] },
      ],
      toolNoise: ['none', 'empty'],
    },
    ...over,
  };
}

async function modelDir(): Promise<string> {
  const d = path.join(dir, 'base-model');
  await fs.mkdir(d, { recursive: true });
  return d;
}

test('the demo plan lists the eval samples prepareExperiment freezes and the runs the workflow builds from them', async () => {
  const raw = YAML.parse(await fs.readFile(path.join(REPO_ROOT, 'examples', 'demo.yaml'), 'utf8')) as ExperimentConfigInput;
  Object.assign(raw, { dataDir: DATA_DIR, artifactDir: path.join(dir, 'demo-artifacts'), cacheDir: path.join(dir, 'demo-cache') });
  const clients = createClientProvider({});
  const plan = await planExperiment(parseExperimentConfig(raw), clients, { env: {} });
  assert.deepEqual(plan.problems, []);
  const ev = plan.evaluation!;
  assert.deepEqual(ev.samples.map((s) => [s.entry, s.task, s.split, s.order, s.n]), [
    [0, 'hotpotqa', 'dev', 'fireact', 8],
    [1, 'strategyqa', 'dev', 'fireact', 8],
  ]);

  const activities = createActivities({ env: {}, clients });
  const prepared: PrepareResult = await new MockActivityEnvironment().run(activities.prepareExperiment, { experiment: 'demo-prep', config: raw });
  const pe = prepared.evaluation!;
  assert.deepEqual(pe.samples.map((s) => [s.task, s.split, s.n]), ev.samples.map((s) => [s.task, s.split, s.n]));
  const resolved = parseExperimentConfig(raw);
  for (const s of ev.samples) {
    const file = JSON.parse(await fs.readFile(path.join(dir, 'demo-artifacts', layout.evalSample('demo-prep', s.task, s.split)), 'utf8')) as SampleFile;
    assert.deepEqual(file.questions.map((q) => q.id), s.ids);
    assert.equal(file.seed, s.seed);
    assert.equal(file.splitSize, s.splitSize);
    assert.equal(file.order, s.order);
    // The plan's indices pick, from the whole split, exactly the questions prepare froze.
    const all = await loadQuestions(clients, resolved, s.task, s.split);
    assert.equal(all.length, s.splitSize);
    assert.deepEqual(s.indices.map((k) => all[k].id), file.questions.map((q) => q.id));
    assert.equal(new Set(s.indices).size, s.n);
  }

  // What the workflow builds once the fine-tune stage has returned its outcome.
  const trained: TrainedStudent[] = [
    { student: 'tiny', dataset: 'multitask-multimethod', local: { modelDir: '/m/tiny-mm', adapterDir: null, baseModelDir: '/m/tiny-base' } },
  ];
  const targets = evalTargets({ students: prepared.students, trained, baselines: pe.baselines, baseModels: pe.baseModels });
  const want = evalRuns(targets, pe.samples, pe.toolNoise).map(({ target, sample, noise }) => [evalRunName(target, sample.task, noise, sample.split), target.name, target.kind, target.prompt, target.method, sample.task, sample.split, noise, sample.n]);
  assert.deepEqual(ev.runs.map((r) => [r.id, r.target, r.kind, r.prompt, r.method, r.task, r.split, r.noise, r.episodes]), want);
  assert.deepEqual(want.map((w) => w[0]), ['tiny@multitask-multimethod-hotpotqa-dev-react', 'tiny@multitask-multimethod-strategyqa-dev-react', 'tiny-base-hotpotqa-dev-react', 'tiny-base-strategyqa-dev-react']);
  // Local models are served on own hardware: counted, not priced.
  for (const r of ev.runs) assert.deepEqual([r.provider, r.flags, r.costUsd.upper], ['local', ['unpriced'], 0]);
  assert.ok(ev.runs.every((r) => r.calls.upper === r.episodes * (4 + 1)), 'evaluate.maxSteps 4 plus the forced finish');
});

test('evaluation runs: students × evalMethods (base model once per student and method), baselines × methods, × samples × noise', async () => {
  const env = { [KEY_VAR]: 'sk-test', [STUDENT_KEY_VAR]: 'sk-student' };
  const raw = fullConfig(await modelDir());
  const config = parseExperimentConfig(raw);
  const plan = await planExperiment(config, createClientProvider({}), { env });
  assert.deepEqual(plan.problems, []);
  const ev = plan.evaluation!;

  // Outcomes as FineTuneStudent returns them, in the fine-tune stage's order.
  const trained: TrainedStudent[] = [
    { student: 'llama', dataset: 'hq', local: { modelDir: '/b', adapterDir: '/a/hq', baseModelDir: '/b' } },
    { student: 'llama', dataset: 'all', local: { modelDir: '/b', adapterDir: '/a/all', baseModelDir: '/b' } },
    { student: 'gpt35', dataset: 'hq', openai: { model: 'ft:gpt-3.5-turbo-0125:acme:gpt35:x1', apiKeyEnv: STUDENT_KEY_VAR } },
  ];
  const targets = evalTargets({ students: config.students, trained, baselines: evalBaselines(config.evaluate!.baselines, 'teacher'), baseModels: true });
  assert.deepEqual(
    targets.map((t) => `${t.name}/${t.kind}/${t.prompt}/${t.method}`),
    [
      'llama@hq/student/student/react',
      'llama-base/base/student/react',
      'llama@hq/student/student/cot',
      'llama-base/base/student/cot',
      'llama@all/student/student/react',
      'llama@all/student/student/cot',
      'gpt35@hq/student/student/react',
      'teacher/teacher/few-shot/react',
      'mini/base/few-shot/cot',
      'mini/base/few-shot/react',
    ],
  );
  assert.deepEqual(targets[1].local, { modelDir: '/b', adapterDir: null });
  assert.deepEqual(targets[6].openai, trained[2].openai);
  assert.equal(targets[8].configModel, 'mini');
  const samples = ev.samples.map((s) => ({ task: s.task, split: s.split, n: s.n }));
  const want = evalRuns(targets, samples, ['none', 'empty']).map(({ target, sample, noise }) => [evalRunName(target, sample.task, noise, sample.split), target.name, target.kind, target.method, sample.task, sample.split, noise, sample.n]);
  assert.equal(want.length, 10 * 2 * 2);
  assert.deepEqual(ev.runs.map((r) => [r.id, r.target, r.kind, r.method, r.task, r.split, r.noise, r.episodes]), want);
  assert.equal(ev.runs[1].id, 'llama@hq-hotpotqa-dev-react-empty');
  assert.equal(ev.totals.episodes, 10 * (3 + 2) * 2);

  // Without base models, no base target; with no outcomes, baselines only.
  assert.equal(evalTargets({ students: config.students, trained, baselines: [], baseModels: false }).filter((t) => t.kind === 'base').length, 0);
  assert.deepEqual(evalTargets({ students: config.students, trained: [], baselines: [{ model: 'mini', methods: ['io'], kind: 'base' }], baseModels: true }).map((t) => t.name), ['mini']);

  // Who pays: the OpenAI fine-tune at ft:<base> prices, the baselines at their own, local models nothing.
  const byModel = Object.fromEntries(ev.models.map((m) => [m.name, m]));
  assert.equal(byModel['gpt35@hq'].priceKey, 'ft:gpt-3.5-turbo');
  assert.ok(byModel['gpt35@hq'].costUsd.typical > 0);
  const gptRun = ev.runs.find((r) => r.target === 'gpt35@hq')!;
  assert.ok(Math.abs(gptRun.costUsd.typical - (gptRun.tokens.typical.prompt * 3 + gptRun.tokens.typical.completion * 6) / 1e6) < 1e-12);
  assert.equal(byModel.mini.priceKey, 'gpt-4o-mini');
  assert.equal(byModel.teacher.kind, 'teacher');
  assert.deepEqual([byModel['llama@all'].flags, byModel['llama-base'].flags], [['unpriced'], ['unpriced']]);
  // Students answer zero-shot (the question alone); the few-shot baselines carry the worked examples.
  const first = (target: string, method: string) => ev.runs.find((r) => r.target === target && r.method === method && r.task === 'hotpotqa')!.firstPromptTokens;
  assert.ok(first('llama@hq', 'react') < 100 && first('teacher', 'react') > 300, `${first('llama@hq', 'react')} vs ${first('teacher', 'react')}`);
  assert.equal(ev.runs.find((r) => r.target === 'llama@hq')!.completionTokensPerCall.upper, 256);
  assert.ok(Math.abs(ev.totals.costUsd.typical - ev.models.reduce((s, m) => s + m.costUsd.typical, 0)) < 1e-9);
  assert.ok(Math.abs(plan.cost.total.typical - (plan.cost.generate.typical + plan.cost.fineTune.typical + plan.cost.evaluate.typical)) < 1e-9);
});

test('fine-tuning: an OpenAI student shows its training cost; a local one its GPUs and mode, unpriced', async () => {
  const env = { [KEY_VAR]: 'sk-test', [STUDENT_KEY_VAR]: 'sk-student' };
  const plan = await planExperiment(parseExperimentConfig(fullConfig(await modelDir())), createClientProvider({}), { env });
  assert.deepEqual(
    plan.fineTune.map((f) => [f.student, f.dataset, f.backend, f.examplesAtMost]),
    [
      ['llama', 'hq', 'local', 7],
      ['llama', 'all', 'local', 7 + 7 + 4],
      ['gpt35', 'hq', 'openai', 7],
    ],
  );
  const gpt = plan.fineTune[2];
  assert.equal(gpt.hardware, 'openai');
  assert.deepEqual([gpt.epochs, gpt.epochsFrom, gpt.priceKey, gpt.flags], [2, 'nEpochs', 'gpt-3.5-turbo-0125', []]);
  assert.ok(gpt.tokensPerExample.typical > 100 && gpt.tokensPerExample.typical < gpt.tokensPerExample.upper, JSON.stringify(gpt.tokensPerExample));
  assert.equal(gpt.tokensPerEpoch.typical, 7 * gpt.tokensPerExample.typical);
  assert.equal(gpt.trainingTokens.typical, 2 * gpt.tokensPerEpoch.typical);
  assert.ok(gpt.costUsd.typical > 0);
  assert.ok(Math.abs(gpt.costUsd.typical - (gpt.trainingTokens.typical * 8) / 1e6) < 1e-12);
  assert.ok(Math.abs(gpt.costUsd.upper - (gpt.trainingTokens.upper * 8) / 1e6) < 1e-12);
  assert.ok(Math.abs(plan.cost.fineTune.typical - gpt.costUsd.typical) < 1e-12);

  const llama = plan.fineTune[1];
  assert.deepEqual([llama.hardware, llama.flags, llama.costUsd], ['own', ['unpriced'], { typical: 0, upper: 0 }]);
  assert.deepEqual([llama.local!.mode, llama.local!.gpus, llama.local!.stepsPerEpochAtMost, llama.local!.totalStepsAtMost], ['lora', 2, 3, 3]); // 18 over 2 GPUs, batches of 4
  assert.ok(llama.tokensPerExample.upper <= 1024, 'truncated to maxLen');
  assert.ok(plan.cost.unpriced.some((u) => u.includes('llama') && u.includes('own hardware')));

  // No nEpochs: OpenAI's "auto" (7 examples → 14 epochs, to reach 100 examples).
  const auto = fullConfig(await modelDir());
  auto.students = [{ name: 'mini', backend: 'openai', baseModel: 'gpt-4o-mini-2024-07-18', apiKeyEnv: STUDENT_KEY_VAR, datasets: ['hq'] }];
  const p2 = await planExperiment(parseExperimentConfig(auto), createClientProvider({}), { env });
  assert.deepEqual([p2.fineTune[0].epochs, p2.fineTune[0].epochsFrom, p2.fineTune[0].priceKey], [14, 'auto', 'gpt-4o-mini']);
  assert.deepEqual([openAIAutoEpochs(50), openAIAutoEpochs(20_000), openAIAutoEpochs(1000)], [3, 1, 3]);
  assert.ok(Math.abs(p2.fineTune[0].costUsd.typical - (p2.fineTune[0].tokensPerEpoch.typical * 14 * 3) / 1e6) < 1e-12);
  assert.equal(p2.evaluation!.models.find((m) => m.name === 'mini@hq')!.priceKey, 'ft:gpt-4o-mini');
});

test('CLI: a student key that is not set and a local base model path that does not exist are problems (exit 1)', async () => {
  const file = path.join(dir, 'students.yaml');
  const missing = path.join(dir, 'no-such-model');
  const cfg = fullConfig(missing, { name: 'students' });
  cfg.students!.push({ name: 'rel', backend: 'local', baseModel: './no-such-model-dir/x', datasets: ['hq'] });
  cfg.students!.push({ name: 'tiny', backend: 'local', baseModel: 'init', datasets: ['hq'] });
  await fs.writeFile(file, YAML.stringify(cfg));
  const env = { ...envWithout(STUDENT_KEY_VAR), [KEY_VAR]: 'sk-test' };

  const text = runCli(['plan', file], env);
  assert.equal(text.status, 1, text.stderr);
  assert.match(text.stdout, /problems \(3\):/);
  assert.ok(text.stdout.includes(`student "gpt35" needs the environment variable ${STUDENT_KEY_VAR}`), text.stdout);
  assert.ok(text.stdout.includes(`student "llama" has baseModel "${missing}"`), text.stdout);
  // A relative path in a config file resolves against the file's folder.
  const rel = path.join(dir, 'no-such-model-dir', 'x');
  assert.ok(text.stdout.includes(`student "rel" has baseModel "${rel}", and ${rel} does not exist`), text.stdout);
  assert.doesNotMatch(text.stdout, /student "tiny"/);
  assert.match(text.stdout, /evaluation runs/);
  assert.match(text.stdout, /fine-tuning/);

  const json = runCli(['plan', file, '--json'], env);
  assert.equal(json.status, 1);
  const plan = JSON.parse(json.stdout) as ExperimentPlan;
  assert.deepEqual(plan.missingSecrets, [STUDENT_KEY_VAR]);
  assert.equal(plan.problems.length, 3);
  assert.ok(json.stderr.includes(STUDENT_KEY_VAR) && json.stderr.includes(missing));

  // The key set and the model directory made: no problem left.
  await fs.writeFile(file, YAML.stringify(fullConfig(await modelDir(), { name: 'students' })));
  const ok = runCli(['plan', file, '--json'], { ...env, [STUDENT_KEY_VAR]: 'sk-student' });
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  const good = JSON.parse(ok.stdout) as ExperimentPlan;
  assert.deepEqual(good.problems, []);
  assert.ok(good.fineTune[2].costUsd.typical > 0);
});

// ---- examples/fireact-paper.yaml: FireAct's training splits, from files of the official shapes ----

/** A data folder with the bundled files linked in and small HotpotQA/StrategyQA training files written. */
async function paperDataDir(strategyDevInTrain: number): Promise<{ data: string; devQuestions: Set<string> }> {
  const data = path.join(dir, `paper-data-${strategyDevInTrain}`);
  for (const sub of ['hotpotqa', 'strategyqa', 'mmlu', 'bamboogle']) await fs.mkdir(path.join(data, sub), { recursive: true });
  for (const rel of ['hotpotqa/dev.json', 'strategyqa/strategyqa_dev.json', 'mmlu/train', 'mmlu/test', 'bamboogle/test.csv']) {
    await fs.symlink(path.join(DATA_DIR, rel), path.join(data, rel));
  }
  const hotpot = Array.from({ length: 600 }, (_, i) => ({
    _id: `h${i}`,
    answer: `answer ${i}`,
    question: `Which training question is number ${i}?`,
    supporting_facts: [[`T${i}`, 0]],
    context: [[`T${i}`, [`Sentence ${i}.`]]],
    type: i % 2 ? 'bridge' : 'comparison',
    level: 'hard',
  }));
  await fs.writeFile(path.join(data, 'hotpotqa', 'hotpot_train_v1.1.json'), JSON.stringify(hotpot));
  // StrategyQA's training file holds its dev questions too (FireAct's dev is drawn from it).
  const dev = JSON.parse(await fs.readFile(path.join(DATA_DIR, 'strategyqa', 'strategyqa_dev.json'), 'utf8')) as Array<Record<string, unknown>>;
  const own = Array.from({ length: 560 }, (_, i) => ({ qid: `s${i}`, term: 't', description: 'd', question: `Is training claim ${i} true?`, answer: i % 3 === 0, facts: [], decomposition: [], evidence: [] }));
  const train: Array<Record<string, unknown>> = [...own];
  dev.slice(0, strategyDevInTrain).forEach((d, k) => train.splice(k * 7, 0, d));
  await fs.writeFile(path.join(data, 'strategyqa', 'strategyqa_train.json'), JSON.stringify(train, null, 2));
  return { data, devQuestions: new Set(dev.map((d) => d.question as string)) };
}

test('the paper config generates on HotpotQA and StrategyQA train, leaving StrategyQA dev out of its sample', async () => {
  const { data, devQuestions } = await paperDataDir(40);
  const config = { ...(await loadConfigFile(path.join(REPO_ROOT, 'examples', 'fireact-paper.yaml'))), dataDir: data, artifactDir: path.join(dir, 'paper-artifacts') };
  assert.deepEqual(
    config.generate.tasks.map((t) => [t.task, t.split]),
    [
      ['hotpotqa', 'train'],
      ['strategyqa', 'train'],
      ['mmlu', 'train'],
    ],
  );
  assert.equal(config.scoring, 'fireact');
  const env = { OPENAI_API_KEY: 'sk-test', SERPAPI_API_KEY: 'serp-test' };
  const clients = createClientProvider(env);
  const plan = await planExperiment(config, clients, { env, base: REPO_ROOT });
  assert.deepEqual(plan.problems, []);
  assert.deepEqual(
    plan.warnings.filter((w) => /evaluation question|leak/i.test(w)),
    [],
    'no generation question is an evaluation question',
  );
  assert.deepEqual(plan.samples.map((s) => [s.task, s.split, s.splitSize, s.n]), [
    ['hotpotqa', 'train', 600, 500],
    ['strategyqa', 'train', 600, 500],
    ['mmlu', 'train', 12126, 500],
  ]);
  assert.deepEqual(plan.samples[0].excluded, { splits: ['dev'], questions: 0 });
  assert.deepEqual(plan.samples[1].excluded, { splits: ['dev'], questions: 40 });

  // The StrategyQA sample is FireAct's order over the whole file, less the dev questions.
  const all = await loadQuestions(clients, config, 'strategyqa', 'train');
  const order = sampleQuestions(all, { order: 'fireact', seed: 233 });
  const expected = order.filter((q) => !devQuestions.has(q.text)).slice(0, 500);
  const frozen = await freezeSample(clients, config, config.generate.tasks[1], 'generate.tasks.1');
  assert.deepEqual(frozen.file.questions.map((q) => q.id), expected.map((q) => q.id));
  assert.ok(frozen.file.questions.every((q) => !devQuestions.has(q.text)));
  assert.ok(order.slice(0, 500).some((q) => devQuestions.has(q.text)), 'without exclude the sample would take dev questions');

  // Without the two training files, plan names each, its shape and where it goes.
  const bare = { ...config, dataDir: path.join(dir, 'paper-empty') };
  await fs.mkdir(bare.dataDir, { recursive: true });
  const missing = await planExperiment(bare, clients, { env, base: REPO_ROOT });
  const hotpot = missing.problems.find((p) => p.startsWith('missing data: generate.tasks.0 (hotpotqa train)'));
  const sqa = missing.problems.find((p) => p.startsWith('missing data: generate.tasks.1 (strategyqa train)'));
  assert.ok(hotpot?.includes(`put it at ${path.join(bare.dataDir, 'hotpotqa', 'hotpot_train_v1.1.json')}`), hotpot);
  assert.ok(hotpot?.includes('a JSON array of {"_id", "question", "answer", "type"'), hotpot);
  assert.ok(sqa?.includes(`put it at ${path.join(bare.dataDir, 'strategyqa', 'strategyqa_train.json')}`), sqa);
  assert.ok(sqa?.includes('"answer": true|false'), sqa);
});

test('sample.exclude: a sample too large once the excluded questions are gone is InvalidConfig naming the entry', async () => {
  const { data } = await paperDataDir(100);
  const config = parseExperimentConfig(
    smallConfig({
      dataDir: data,
      generate: { teacher: 'teacher', tasks: [{ task: 'strategyqa', split: 'train', methods: ['cot'], sample: { n: 600, order: 'fireact', exclude: ['dev'] } }] },
      datasets: [{ name: 'sq', tasks: ['strategyqa'], methods: ['cot'] }],
    }),
  );
  const plan = await planExperiment(config, createClientProvider({ [KEY_VAR]: 'k' }), { env: { [KEY_VAR]: 'k' } });
  assert.deepEqual(plan.problems, [
    'generate.tasks.0 (strategyqa train): sample n = 600 is larger than the split less its dev questions, which leaves 560 of 660',
  ]);
});
