// Config errors name the field, the bad value and what is allowed, before anything is spent.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, test } from '@jest/globals';
import { ConfigError, parseExperimentConfig, scoringRuleFor, type ExperimentConfigInput } from '../../core/config';
import { loadConfigFile } from '../../lib/experiment/config-file';
import { tempDir } from '../../scripts/support/paths';

let dir: string;
beforeAll(async () => {
  dir = await tempDir('config');
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const base = (): ExperimentConfigInput => ({
  name: 'ok',
  models: { teacher: { provider: 'replay', model: 'gpt-4' } },
  generate: { teacher: 'teacher', tasks: [{ task: 'hotpotqa', split: 'dev', methods: ['react'] }] },
  datasets: [{ name: 'd', tasks: ['hotpotqa'], methods: ['react'] }],
});

function problems(raw: unknown): string[] {
  try {
    parseExperimentConfig(raw);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

test('defaults fill in a minimal config', () => {
  const c = parseExperimentConfig(base());
  assert.equal(c.dataDir, '../shared/fireact');
  assert.equal(c.seed, 233);
  assert.equal(c.generate.maxSteps, 8);
  assert.equal(c.search.backend, 'replay');
  assert.deepEqual(c.datasets[0].formats, ['openai', 'alpaca']);
});

test('unknown task, method and provider name the field and the allowed values', () => {
  const raw = base() as { generate: { tasks: Array<Record<string, unknown>> }; models: Record<string, Record<string, unknown>> };
  raw.generate.tasks[0].task = 'hotpotq';
  raw.generate.tasks[0].methods = ['react', 'magic'];
  raw.models.teacher.provider = 'anthropic';
  const p = problems(raw);
  assert.ok(p.includes('generate.tasks.0.task: "hotpotq" is not allowed; use one of "hotpotqa", "strategyqa", "bamboogle", "mmlu"'), p.join('\n'));
  assert.ok(p.includes('generate.tasks.0.methods.1: "magic" is not allowed; use one of "io", "cot", "react", "reflexion"'));
  assert.ok(p.some((x) => x.startsWith('models.teacher.provider: "anthropic" is not allowed')));
});

test('cross-field rules: unknown teacher, duplicate datasets, openai without a key variable, missing fields, typos', () => {
  const raw = { ...base(), generate: { ...base().generate, teacher: 'gpt' }, datasets: [base().datasets[0], base().datasets[0]] };
  const p = problems(raw);
  assert.ok(p.includes('generate.teacher: unknown model "gpt"; defined models: teacher'), p.join('\n'));
  assert.ok(p.includes('datasets.1.name: duplicate dataset name "d"'));
  assert.ok(problems({ ...base(), models: { t: { provider: 'openai', model: 'gpt-4' } }, generate: { ...base().generate, teacher: 't' } }).some((x) => x.startsWith('models.t.apiKeyEnv: provider "openai" needs apiKeyEnv')));
  assert.ok(problems({ name: 'x' }).includes('models: required (record)'));
  assert.ok(problems({ ...base(), datset: [] }).includes('(root): unknown field "datset"'));
  assert.ok(problems({ ...base(), name: 'a/b' }).some((x) => x.startsWith('name: ')));
});

test('files: YAML and JSON parse; syntax errors and missing files name the file', async () => {
  const yamlFile = path.join(dir, 'c.yaml');
  await fs.writeFile(yamlFile, 'name: y\nmodels: { teacher: { provider: replay, model: m } }\ngenerate: { teacher: teacher, tasks: [{ task: mmlu, split: test, methods: [cot] }] }\ndatasets: [{ name: d, tasks: [mmlu], methods: [cot] }]\n');
  assert.equal((await loadConfigFile(yamlFile)).name, 'y');
  const jsonFile = path.join(dir, 'c.json');
  await fs.writeFile(jsonFile, JSON.stringify(base()));
  assert.equal((await loadConfigFile(jsonFile)).name, 'ok');
  await fs.writeFile(path.join(dir, 'bad.yaml'), 'name: x\n  bad: [\n');
  await assert.rejects(loadConfigFile(path.join(dir, 'bad.yaml')), (e: ConfigError) => e.problems[0].includes('bad.yaml: YAML error'));
  await fs.writeFile(path.join(dir, 'bad.json'), '{"name": ');
  await assert.rejects(loadConfigFile(path.join(dir, 'bad.json')), /bad\.json: not valid JSON/);
  await assert.rejects(loadConfigFile(path.join(dir, 'missing.yaml')), /missing\.yaml: cannot read config file \(ENOENT\)/);
});

test('names that would share a file or workflow id: a task and split twice, student outputs that coincide', () => {
  const two = { ...base(), generate: { ...base().generate, tasks: [...base().generate.tasks, { task: 'hotpotqa', split: 'test', methods: ['react'] }] } };
  assert.deepEqual(problems({ ...two, name: 'a b' }).filter((x) => x.startsWith('generate')), [], 'two splits of one task and method are fine');
  const twice = { ...base(), generate: { ...base().generate, tasks: [...base().generate.tasks, { task: 'hotpotqa', split: 'dev', methods: ['cot'] }] } };
  assert.deepEqual(problems(twice), ['generate.tasks.1: hotpotqa dev is already generate.tasks.0; list all its methods in that entry']);
  const evalTwice = { ...base(), evaluate: { tasks: [{ task: 'hotpotqa', split: 'dev' }, { task: 'hotpotqa', split: 'dev', sample: { n: 5 } }] } };
  assert.deepEqual(problems(evalTwice), ['evaluate.tasks.1: hotpotqa dev is already evaluate.tasks.0; keep one entry per task and split']);

  const mixes = [
    { name: 'b-c', tasks: ['hotpotqa'], methods: ['react'] },
    { name: 'c', tasks: ['hotpotqa'], methods: ['react'] },
    { name: 'base', tasks: ['hotpotqa'], methods: ['react'] },
  ];
  const students = (...s: Array<[string, string[]]>) => s.map(([name, datasets]) => ({ name, backend: 'local', baseModel: 'init', datasets }));
  assert.deepEqual(problems({ ...base(), datasets: mixes, students: students(['a', ['b-c']], ['a-b', ['c']]) }), [
    'students.1.name: student "a-b" on dataset "c" and student "a" on dataset "b-c" would both be named "a-b-c"; rename one',
  ]);
  assert.deepEqual(problems({ ...base(), datasets: mixes, students: students(['a', ['base']]) }), [
    'students.0.name: the base model of student "a" and student "a" on dataset "base" would both be named "a-base"; rename one',
  ]);
  assert.deepEqual(problems({ ...base(), datasets: mixes, students: students(['a', ['c', 'c']]) }), ['students.0.datasets: student "a" lists a dataset twice ("c")']);
  parseExperimentConfig({ ...base(), datasets: mixes, students: students(['a', ['b-c', 'c']], ['b', ['b-c']]) });

  // Evaluation folders: eval/<model>/ with "@" written as "_".
  const evaluate = (baselines: unknown[], baseModels = true) => ({ tasks: [{ task: 'hotpotqa', split: 'dev' }], baselines, baseModels });
  const models = { teacher: { provider: 'replay', model: 'gpt-4' }, 'a-base': { provider: 'replay', model: 'x' }, a_c: { provider: 'replay', model: 'y' } };
  assert.deepEqual(problems({ ...base(), models, datasets: mixes, students: students(['a', ['c']]), evaluate: evaluate([{ model: 'a-base', methods: ['react'] }, { model: 'a_c', methods: ['cot'] }]) }), [
    'evaluate.baselines.0.model: baseline "a-base" and the base model of student "a" would share the evaluation folder "a-base"; rename one',
    'evaluate.baselines.1.model: baseline "a_c" and student "a" on dataset "c" would share the evaluation folder "a_c"; rename one',
  ]);
  assert.deepEqual(problems({ ...base(), datasets: mixes, students: students(['a', ['b_c']], ['a_b', ['c']]), evaluate: evaluate([]) }).slice(-1), [
    'students.1.name: student "a_b" on dataset "c" and student "a" on dataset "b_c" would share the evaluation folder "a_b_c"; rename one',
  ]);
  assert.deepEqual(problems({ ...base(), evaluate: evaluate([{ model: 'teacher', methods: ['react'] }, { model: 'teacher', methods: ['cot', 'react'] }]) }), [
    'evaluate.baselines.1.methods: baseline "teacher" with method "react" is listed twice',
  ]);
  // Without base-model rows, "a-base" is free; one baseline model over several entries is one folder.
  parseExperimentConfig({ ...base(), models, datasets: mixes, students: students(['a', ['c']]), evaluate: evaluate([{ model: 'a-base', methods: ['react'] }, { model: 'a-base', methods: ['cot'] }], false) });
});

test('scoring: one rule, or a rule per task (lenient where none is named); bad values name the allowed ones', () => {
  const lenient = parseExperimentConfig(base());
  assert.equal(scoringRuleFor(lenient, 'strategyqa'), 'lenient');
  const all = parseExperimentConfig({ ...base(), scoring: 'fireact' });
  assert.equal(scoringRuleFor(all, 'mmlu'), 'fireact');
  const per = parseExperimentConfig({ ...base(), scoring: { strategyqa: 'fireact' } });
  assert.deepEqual([scoringRuleFor(per, 'strategyqa'), scoringRuleFor(per, 'mmlu')], ['fireact', 'lenient']);
  assert.deepEqual(problems({ ...base(), scoring: 'strict' }), ['scoring: "strict" is not allowed; use one of "lenient", "fireact"']);
  assert.deepEqual(problems({ ...base(), scoring: { mmlu: 'exact' } }), ['scoring.mmlu: "exact" is not allowed; use one of "lenient", "fireact"']);
  assert.deepEqual(problems({ ...base(), scoring: { trivia: 'fireact' } }), ['scoring: unknown field "trivia"']);
  assert.deepEqual(problems({ ...base(), scoring: 1 }), ['scoring: got 1; use one of "lenient", "fireact", or a mapping of task to one of them']);
});
