// `fireact plan`: the samples it shows are the ones prepareExperiment freezes, its counts and
// estimates add up, and missing secrets or data are reported (exit 1), in-process and via the CLI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import YAML from 'yaml';
import { parseExperimentConfig, type ExperimentConfigInput } from '../core/config';
import type { Question } from '../core/trajectory';
import { createActivities, type PrepareResult } from '../activities';
import { createClientProvider } from '../activities/experiment/clients';
import { loadConfigFile } from '../activities/experiment/config-file';
import { layout } from '../activities/experiment/layout';
import { loadQuestions } from '../activities/experiment/questions';
import { freezeSample } from '../activities/experiment/sample';
import { planExperiment, type ExperimentPlan } from '../activities/plan/plan';
import { DEFAULT_PRICES, estimateCost, estimateTrainingCost, lookupPrice, PriceTableSchema } from '../core/prices';
import { sampleQuestions } from '../activities/tasks/sampling';
import { DATA_DIR, REPO_ROOT, tempDir } from './support/paths';

const KEY_VAR = 'FIREACT_PLAN_TEST_KEY';
let dir: string;

before(async () => {
  dir = await tempDir('plan');
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

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
        { task: 'hotpotqa', split: 'dev', methods: ['react', 'cot'], sample: { n: 7, order: 'fireact' } },
        { task: 'strategyqa', split: 'dev', methods: ['reflexion'], sample: { n: 4, seed: 9 } },
      ],
      shardSize: 3,
      maxSteps: 6,
      reflexion: { maxTrials: 2, stepsPerTrial: 4 },
    },
    datasets: [
      { name: 'hq', tasks: ['hotpotqa'], methods: ['react'] },
      { name: 'none', tasks: ['mmlu'], methods: ['react'] },
    ],
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

test('prepareExperiment writes exactly the samples and shards the plan shows', async () => {
  const raw = smallConfig({ name: 'prep' });
  const env = { [KEY_VAR]: 'sk-test' };
  const plan = await planExperiment(parseExperimentConfig(raw), createClientProvider(env), { env });
  assert.deepEqual(plan.problems, []);

  const activities = createActivities({ env, clients: createClientProvider(env) });
  const prepared: PrepareResult = await new MockActivityEnvironment().run(activities.prepareExperiment, { experiment: 'prep-1', config: raw });
  assert.equal(prepared.episodes, plan.totals.episodes);
  assert.equal(prepared.questions, plan.totals.questions);
  assert.equal(prepared.shards.length, plan.totals.shards);
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
      ['hotpotqa', 'dev', 'fireact', 233, 7405, 7],
      ['strategyqa', 'dev', 'seeded', 9, 229, 4],
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
    [
      ['hq', 7, 7],
      ['none', 0, 0],
    ],
  );
  assert.ok(plan.warnings.some((w) => w.includes('dataset "none"')));

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
