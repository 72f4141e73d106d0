// Bad input, driven as users meet it: the `fireact` CLI, `temporal workflow start --input-file`, the
// worker entry, `scripts/dev-server.sh`, and the activities where those are the only way in. Each case
// asserts the message a user reads and that nothing was spent or lost: the fake model server saw no
// request, and the shared artifact folder (holding an earlier, completed experiment) is byte for byte
// what it was.
//
// Catalogue (input → what the user reads; "…" elides paths and lists):
//  1 validate: malformed YAML                → "bad.yaml: YAML error: … at line 3, column 1"
//  2 validate: JSON syntax error             → "bad.json: not valid JSON: Expected double-quoted property name …"
//  3 validate: config file does not exist    → "nope.yaml: cannot read config file (ENOENT)"
//  4 validate: config is a YAML list         → "(root): the config must be a mapping of fields (name, models, generate, datasets, …), got a list"
//  5 validate: config file is empty          → "(root): the config must be a mapping of fields (…), got an empty file (null)"
//  6 validate: unknown task                  → 'generate.tasks.0.task: "hotpot" is not allowed; use one of "hotpotqa", …'
//  7 validate: unknown method                → 'generate.tasks.0.methods.0: "reactt" is not allowed; use one of "io", "cot", "react", "reflexion"'
//  8 validate: unknown provider              → 'models.teacher.provider: "anthropic" is not allowed; use one of "openai", "replay"'
//  9 validate: unknown search backend        → 'search.backend: "bing" is not allowed; use one of "replay", "local", "serpapi", "wikipedia"'
// 10 validate: unknown field (typo)          → 'generate: unknown field "maxStep"'
// 11 validate: negative maxSteps             → "generate.maxSteps: got -1; must be > 0"
// 12 validate: teacher names undefined model → 'generate.teacher: unknown model "gpt4"; defined models: teacher'
// 13 validate: student's dataset undefined   → 'students.0.datasets.0: unknown dataset "hotpotqa-mix"; defined datasets: hotpotqa'
// 14 validate: baseline names undefined model→ 'evaluate.baselines.0.model: unknown model "llama"; defined models: teacher'
// 15 validate: openai model without key/url  → 'models.teacher.apiKeyEnv: provider "openai" needs apiKeyEnv …'
// 16 plan: sample larger than the split      → "generate.tasks.0 (hotpotqa fireact-react): sample n = 100000 is larger than the split, which has 500 questions"
// 17 plan: missing data directory            → "data file …/hotpotqa/dev.json cannot be read (ENOENT); dataDir is …"
// 18 plan: one split's data file missing     → "data file …/hotpotqa/test.json cannot be read (ENOENT)"
// 19 plan: eval split that does not exist    → 'task hotpotqa has no split "dvv"; its splits are: dev, test, …'
// 20 plan: missing API key                   → 'missing secret: model "teacher" needs the environment variable FIREACT_BAD_INPUT_KEY …'
// 21 start: missing API key, found by prepare→ 'experiment nokey-1 failed: … model "teacher": … FIREACT_BAD_INPUT_KEY …' (0 model requests)
// 22 start with no config argument           → "fireact start: needs <config>" and the usage (exit 2)
// 23 unknown CLI command                     → 'fireact: unknown command "frobnicate"' and the usage (exit 2)
// 24 start --id X twice                      → 'experiment dup-1 already exists (RUNNING|COMPLETED); pick another --id …'; the first completes untouched
// 25 status of an unknown id                 → "no such experiment: no-such-experiment"
// 26 watch of an unknown id                  → "no such experiment: ghost-2"
// 27 CLI, unreachable Temporal               → "cannot reach Temporal at 127.0.0.1:1 (…). Start the dev server …"
// 28 worker, unreachable Temporal            → "fireact worker: cannot reach Temporal at 127.0.0.1:1 (TEMPORAL_ADDRESS): … Connection refused"
// 29 dev-server.sh, port taken               → "port N on 127.0.0.1 is in use by another program (not a Temporal server) …"
// 30 temporal workflow start, bad config     → workflow fails InvalidConfig: 'generate.tasks.0.methods.0: "magic" is not allowed …'
// 31 temporal workflow start, input not JSON → Temporal CLI: 'input #1 is not valid JSON'; no workflow exists
// 32 score: predictions file with a bad line → "preds.jsonl:2: not JSON (…)"
// 33 score: empty predictions file           → "empty.jsonl: no predictions"
// 34 score: predictions file missing         → "missing.jsonl: cannot read (ENOENT)"
// 35 score: unknown task                     → 'score: unknown task "trivia"; known tasks: hotpotqa, …'
// 36 chat JSONL line not valid JSON          → "fine-tuning file …/train.jsonl has 1 bad line(s): line 2: not valid JSON (…)"
// 37 chat record with wrong role order       → "line 1: messages[2].role: expected user (user and assistant must alternate)"
// 38 trajectory with wrong role order        → "1 record(s) do not make valid fine-tuning examples: hotpotqa/react/… (openai): … messages[2].role: expected user …"
// 39 local student, unknown base model path  → 'student "s": base model /…/no-such-model does not exist …' (MissingData; trainer never started)
// 40 plan: local student, unknown base path  → 'missing model: student "s" has baseModel "/…/no-such-model", and … does not exist'
// 41 validate: negative budget               → "budget.usd: got -5; usd must be a positive number"
// 42 validate: budget for an undefined model → 'budget.perModel.gpt4: unknown model "gpt4"; defined models: teacher'
// 43 budget --add -5                         → '--add needs a positive number, got "-5"'
// 44 budget of an unknown id                 → "no such experiment: ghost-3"
// 45 start --id with a space                 → 'experiment id "my run 1" is not allowed (it contains " "); an experiment id is 1 to 100 characters: …'
// 46 start --id with slashes                 → 'experiment id "team/alice/run1" is not allowed (it contains "/"); …'
// 47 start --id of 300 characters            → 'experiment id "xxx…" is not allowed (it is 300 characters long); …'
// 48 temporal workflow start, bad id         → workflow fails InvalidExperimentId in prepare, one attempt: 'experiment id "my run 48" is not allowed …'
// 49 resume with a bad id                    → 'experiment id "team/alice/run1" is not allowed …', before connecting
// 50 start --id differing only in case       → 'experiment DUP-1 failed: experiment id "DUP-1" differs only in case from the folder of experiment "dup-1" in …'
// 51 validate: a task and split listed twice → "generate.tasks.1: hotpotqa fireact-react is already generate.tasks.0; list all its methods in that entry"
// 52 validate: student outputs share a name → 'students.1.name: student "a-b" on dataset "c" and student "a" on dataset "b-c" would both be named "a-b-c"; rename one'
// 53 validate: 7B full fine-tune, one 24 GB GPU→ 'GPU memory: student "big" (meta-llama/Llama-2-7b-hf, 6.74B parameters; full, …) needs about 121.4 GiB per GPU (…), but the declared 1 x 24 GB GPU has 22.1 GiB usable; cheapest change that fits: mode: lora instead of full and gradientCheckpointing: true …'
// 54 plan: the same student                  → the same text under "problems (1):", exit 1
// 55 local QLoRA student with sharding "fsdp" → 'student "s": the local trainer cannot run mode "qlora" with sharding "fsdp"; QLoRA runs with sharding "ddp" …' (InvalidConfig, non-retryable; trainer never started)
// 56 generation questions = eval questions   → "problem: generate.tasks.0 (hotpotqa dev): all 4 questions are evaluation questions (hotpotqa dev): …"; start refuses
// 57 same, with curate.excludeEvalQuestions off → "… students would be trained on questions they are evaluated on"; start refuses
// 58 dataset mix that would be empty         → 'problem: dataset "cot-only" would be empty: no generation entry has one of its tasks (hotpotqa) with one of its methods (cot)'
// 59 student trained on an empty mix         → 'problem: student "s" would train on dataset "cot-only", which would be empty: its fine-tuning would find no example'
// 60 model baseUrl with an ftp:// scheme     → 'models.teacher.baseUrl: "ftp://127.0.0.1/v1" is not an http:// or https:// URL'
// 61 validate: sample larger than the split  → "problem: generate.tasks.0 (hotpotqa fireact-react): sample n = 100000 is larger than the split, …"; start refuses
// 62 budget cap below one episode's reservation → "problem: budget.usd $0.0001 is less than what one react generation episode reserves ($…)"
// 63 unknown CLI flag                        → "fireact plan: unknown option --jsn" and the usage (exit 2)
// 64 extra CLI argument                      → 'fireact status: unexpected argument "extra"' and the usage (exit 2)
// 65 cancel of an experiment that ended      → "fireact: experiment dup-1 is COMPLETED; there is nothing to cancel"
// 66 budget of an experiment that ended      → "fireact: experiment dup-1 is COMPLETED; its budget can no longer be raised"
// 67 score --split that the task lacks       → 'score: task hotpotqa has no split "trian"; its splits are: dev, test'
// 68 resume --config with a config that has a problem → "…/bad.yaml: not resumed: 1 problem(s) above; fix them, or resume anyway with --force"
// 69 student on a mix without the OpenAI format → 'students.0.datasets.0: student "s" (backend local) trains on the "openai" format, but dataset "alpaca-only" is written only as "alpaca"; add "openai" to datasets.1.formats' (validate and start; nothing started)
// 70 worker with FIREACT_WORKFLOW_BUNDLE naming no file → 'fireact worker: FIREACT_WORKFLOW_BUNDLE names "…/no-bundle.js", which is not a file; build one with `npm run bundle-workflows -- <file>` or unset it'
// 71 cacheDir that is a file; artifactDir under a file → 'problem: cacheDir "…/not-a-folder.txt" is a file, not a folder'; '… lies under …, which is a file, not a folder' (validate and start refuse; the prepare activity refuses too, non-retryably)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, test } from '@jest/globals';
import { promisify } from 'node:util';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import YAML from 'yaml';
import { ErrorType } from '../../core/errors';
import { TRAJECTORY_SCHEMA, type TrajectoryRecord } from '../../core/trajectory';
import { buildDatasetMix } from '../../lib/datasets/build';
import { validateOpenAIChatFile } from '../../lib/finetune/openai';
import { createLocalFineTuneActivities } from '../../activities/finetune-local';
import { parseExperimentConfig } from '../../core/config';
import { createFireactWorker } from '../../workers/fireact-worker';
import { fakeTeacher, startFakeOpenAIServer, type FakeOpenAIServer } from '../../scripts/support/fake-openai-server';
import { DATA_DIR, REPO_ROOT, tempDir } from '../../scripts/support/paths';
import { startDevServer, temporalBin, workflowBundle } from '../../scripts/support/temporal';

const exec = promisify(execFile);
const KEY_ENV = 'FIREACT_BAD_INPUT_KEY';
delete process.env[KEY_ENV]; // the in-process worker must not find it

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let dir: string;
let artifacts: string;
let model: FakeOpenAIServer;
/** The shared artifact folder as it was once the earlier experiment completed. */
let earlier: Map<string, string>;

beforeAll(async () => {
  dir = await tempDir('bad-input');
  artifacts = path.join(dir, 'artifacts');
  model = await startFakeOpenAIServer({ behaviour: fakeTeacher() });
  env = await startDevServer();
  worker = await createFireactWorker({ connection: env.nativeConnection, worker: { workflowBundle: await workflowBundle() } });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  await model?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  out: string;
  err: string;
}

async function run(cmd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await exec(cmd, args, { cwd: REPO_ROOT, env: { ...process.env, ...extraEnv }, timeout: 60_000 });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout, err: err.stderr };
  }
}

const fireact = (args: string[], address = env.address) => run(process.execPath, [path.join(REPO_ROOT, 'bin', 'fireact.js'), ...args], { TEMPORAL_ADDRESS: address });

/** Every file under `root` with its sha256 (empty when `root` does not exist). */
async function snapshot(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(d: string): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(path.relative(root, p), createHash('sha256').update(await fs.readFile(p)).digest('hex'));
    }
  }
  await walk(root);
  return out;
}

/**
 * Runs one bad input and checks that it spent and lost nothing: no model request, and the artifact
 * and cache folders exactly as before.
 */
async function nothingSpent<T>(what: () => Promise<T>): Promise<T> {
  const before = await snapshot(dir);
  const requests = model.requests.length;
  const result = await what();
  assert.equal(model.requests.length, requests, 'no model request');
  const after = await snapshot(dir);
  for (const k of [...after.keys()]) if (k.startsWith('scratch')) after.delete(k); // files this test itself wrote
  for (const k of [...before.keys()]) if (k.startsWith('scratch')) before.delete(k);
  assert.deepEqual(after, before, 'no artifact written, changed or deleted');
  return result;
}

const baseConfig = () => ({
  name: 'bad-input',
  dataDir: DATA_DIR,
  artifactDir: artifacts,
  cacheDir: path.join(dir, 'cache'),
  models: { teacher: { provider: 'replay', model: 'gpt-4', replayFiles: ['hotpotqa'] } } as Record<string, unknown>,
  generate: { teacher: 'teacher', tasks: [{ task: 'hotpotqa', split: 'fireact-react', methods: ['react'], sample: { n: 3 } }], shardSize: 3 } as Record<string, unknown>,
  datasets: [{ name: 'hotpotqa', tasks: ['hotpotqa'], methods: ['react'] }] as unknown[],
});
const openaiTeacher = () => ({ teacher: { provider: 'openai', model: 'gpt-4', baseUrl: model.url, apiKeyEnv: KEY_ENV } });

let written = 0;
async function scratch(name: string, text: string): Promise<string> {
  const d = path.join(dir, 'scratch', String(written++));
  await fs.mkdir(d, { recursive: true });
  const file = path.join(d, name);
  await fs.writeFile(file, text);
  return file;
}
const configFile = (c: unknown, name = 'bad.yaml') => scratch(name, YAML.stringify(c));

/** `validate` and `start` both refuse the config, with `message` on stderr, before anything runs. */
async function refused(file: string, message: RegExp): Promise<void> {
  await nothingSpent(async () => {
    const v = await fireact(['validate', file]);
    assert.equal(v.code, 1, v.out);
    assert.match(v.err, /^invalid experiment config:\n/);
    assert.match(v.err, message);
  });
}

// The earlier experiment first: later cases prove they leave its artifacts as they were.
test('24 duplicate experiment id: the second start fails clearly, the first completes untouched', async () => {
  const file = await configFile({ ...baseConfig(), name: 'dup' }, 'dup.yaml');
  const first = await fireact(['start', file, '--id', 'dup-1']);
  assert.equal(first.code, 0, first.err);
  const runId = (await env.client.workflow.getHandle('dup-1').describe()).runId;

  const second = await fireact(['start', file, '--id', 'dup-1']);
  assert.equal(second.code, 1);
  assert.match(second.err, /experiment dup-1 already exists \((RUNNING|COMPLETED)\); pick another --id, or follow it with: npx fireact watch dup-1/);

  await env.client.workflow.getHandle('dup-1').result();
  const desc = await env.client.workflow.getHandle('dup-1').describe();
  assert.equal(desc.runId, runId, 'the first run is the only run');
  assert.equal(desc.status.name, 'COMPLETED');
  earlier = await snapshot(artifacts);
  assert.ok([...earlier.keys()].some((k) => k.startsWith(path.join('dup-1', 'datasets'))), 'the first run wrote its datasets');
  // Once it is done, a third try is refused the same way and changes nothing.
  await nothingSpent(async () => {
    const third = await fireact(['start', file, '--id', 'dup-1']);
    assert.match(third.err, /experiment dup-1 already exists \(COMPLETED\)/);
  });
}, 90_000);

describe('bad inputs', () => {
  test('1 malformed YAML', async () => {
    const file = await scratch('bad.yaml', 'name: x\nmodels: [\n');
    await refused(file, /bad\.yaml: YAML error: .* at line 3, column 1$/m);
  });

  test('2 JSON syntax error', async () => {
    const file = await scratch('bad.json', '{"name": "x",}');
    await refused(file, /bad\.json: not valid JSON: Expected double-quoted property name in JSON at position 13/);
  });

  test('3 config file that does not exist', async () => {
    await refused(path.join(dir, 'nope.yaml'), /nope\.yaml: cannot read config file \(ENOENT\)/);
  });

  test('4 config that is a YAML list, not a mapping', async () => {
    const file = await scratch('list.yaml', '- name: x\n- models: {}\n');
    await refused(file, /list\.yaml: \(root\): the config must be a mapping of fields \(name, models, generate, datasets, …\), got a list/);
  });

  test('5 empty config file', async () => {
    const file = await scratch('empty.yaml', '');
    await refused(file, /empty\.yaml: \(root\): the config must be a mapping of fields \(name, models, generate, datasets, …\), got an empty file/);
  });

  test('6 unknown task', async () => {
    const c = baseConfig();
    c.generate.tasks = [{ task: 'hotpot', split: 'dev', methods: ['react'] }];
    await refused(await configFile(c), /generate\.tasks\.0\.task: "hotpot" is not allowed; use one of "hotpotqa", "strategyqa", "bamboogle", "mmlu"/);
  });

  test('7 unknown method', async () => {
    const c = baseConfig();
    c.generate.tasks = [{ task: 'hotpotqa', split: 'dev', methods: ['reactt'] }];
    await refused(await configFile(c), /generate\.tasks\.0\.methods\.0: "reactt" is not allowed; use one of "io", "cot", "react", "reflexion"/);
  });

  test('8 unknown provider', async () => {
    const c = baseConfig();
    c.models = { teacher: { provider: 'anthropic', model: 'claude' } };
    await refused(await configFile(c), /models\.teacher\.provider: "anthropic" is not allowed; use one of "openai", "replay"/);
  });

  test('9 unknown search backend', async () => {
    await refused(await configFile({ ...baseConfig(), search: { backend: 'bing' } }), /search\.backend: "bing" is not allowed; use one of "replay", "local", "serpapi", "wikipedia"/);
  });

  test('10 unknown field (a typo)', async () => {
    const c = baseConfig();
    c.generate.maxStep = 5;
    await refused(await configFile(c), /generate: unknown field "maxStep"/);
  });

  test('11 a negative number where a positive one is required', async () => {
    const c = baseConfig();
    c.generate.maxSteps = -1;
    await refused(await configFile(c), /generate\.maxSteps: got -1; must be > 0/);
  });

  test('12 teacher names an undefined model', async () => {
    const c = baseConfig();
    c.generate.teacher = 'gpt4';
    await refused(await configFile(c), /generate\.teacher: unknown model "gpt4"; defined models: teacher/);
  });

  test('13 student whose dataset is undefined', async () => {
    const c = { ...baseConfig(), students: [{ name: 's', backend: 'local', baseModel: 'init', datasets: ['hotpotqa-mix'] }] };
    await refused(await configFile(c), /students\.0\.datasets\.0: unknown dataset "hotpotqa-mix"; defined datasets: hotpotqa/);
  });

  test('14 baseline that names an undefined model', async () => {
    const c = { ...baseConfig(), evaluate: { tasks: [{ task: 'hotpotqa', split: 'dev' }], baselines: [{ model: 'llama', methods: ['react'] }] } };
    await refused(await configFile(c), /evaluate\.baselines\.0\.model: unknown model "llama"; defined models: teacher/);
  });

  test('15 openai model with neither a key variable nor a base URL', async () => {
    const c = baseConfig();
    c.models = { teacher: { provider: 'openai', model: 'gpt-4' } };
    await refused(await configFile(c), /models\.teacher\.apiKeyEnv: provider "openai" needs apiKeyEnv \(or a baseUrl of a keyless endpoint\)/);
  });

  /** `plan` finds the problem, prints it and exits 1, having spent nothing. */
  async function planProblem(c: unknown, message: RegExp): Promise<Run> {
    return nothingSpent(async () => {
      const p = await fireact(['plan', await configFile(c)]);
      assert.equal(p.code, 1, p.err);
      assert.match(p.out, /problems \(\d+\):/);
      assert.match(p.out, message);
      return p;
    });
  }

  test('16 sample larger than the split', async () => {
    const c = baseConfig();
    c.generate.tasks = [{ task: 'hotpotqa', split: 'fireact-react', methods: ['react'], sample: { n: 100_000 } }];
    await planProblem(c, /generate\.tasks\.0 \(hotpotqa fireact-react\): sample n = 100000 is larger than the split, which has \d+ questions/);
  });

  test('17 missing data directory', async () => {
    const c = { ...baseConfig(), dataDir: path.join(dir, 'no-data') };
    c.generate.tasks = [{ task: 'hotpotqa', split: 'dev', methods: ['react'], sample: { n: 2 } }];
    c.models = openaiTeacher();
    await planProblem(c, new RegExp(`data file ${path.join(dir, 'no-data', 'hotpotqa', 'dev.json').replace(/[.]/g, '\\.')} cannot be read \\(ENOENT\\); dataDir is`));
  });

  test('18 data file missing for one split', async () => {
    const data = path.join(dir, 'scratch', 'partial-data');
    await fs.mkdir(path.join(data, 'hotpotqa'), { recursive: true });
    await fs.copyFile(path.join(DATA_DIR, 'hotpotqa', 'dev.json'), path.join(data, 'hotpotqa', 'dev.json'));
    const c = { ...baseConfig(), dataDir: data, models: openaiTeacher() };
    c.generate.tasks = [
      { task: 'hotpotqa', split: 'dev', methods: ['react'], sample: { n: 2 } },
      { task: 'hotpotqa', split: 'test', methods: ['react'], sample: { n: 2 } },
    ];
    const p = await planProblem(c, /data file .*hotpotqa\/test\.json cannot be read \(ENOENT\)/);
    assert.doesNotMatch(p.out, /hotpotqa\/dev\.json cannot be read/);
  });

  test('19 eval split that does not exist', async () => {
    const c = { ...baseConfig(), evaluate: { tasks: [{ task: 'hotpotqa', split: 'dvv', sample: { n: 2 } }] } };
    await planProblem(c, /task hotpotqa has no split "dvv"; its splits are: dev, test/);
  });

  test('20 missing API key, found by plan', async () => {
    const c = { ...baseConfig(), models: openaiTeacher() };
    c.generate.tasks = [{ task: 'hotpotqa', split: 'dev', methods: ['react'], sample: { n: 2 } }];
    await planProblem(c, new RegExp(`missing secret: model "teacher" needs the environment variable ${KEY_ENV}, which is not set here`));
  });

  test('21 missing API key, found by prepare before any model call', async () => {
    const c = { ...baseConfig(), name: 'nokey', models: openaiTeacher() };
    c.generate.tasks = [{ task: 'hotpotqa', split: 'test', methods: ['react'], sample: { n: 2 } }];
    const file = await configFile(c);
    await nothingSpent(async () => {
      const start = await fireact(['start', file, '--id', 'nokey-1']);
      assert.equal(start.code, 0, start.err);
      const watched = await fireact(['watch', 'nokey-1']);
      assert.equal(watched.code, 1);
      assert.match(watched.err, new RegExp(`experiment nokey-1 failed: .*model "teacher": .*${KEY_ENV}`));
      assert.match(watched.out, /prepare .*failed/);
      const status = await fireact(['status', 'nokey-1']);
      assert.match(status.out, /nokey-1: FAILED/);
      assert.match(status.out, new RegExp(`failed: model "teacher": .*${KEY_ENV}`));
    });
    assert.equal(model.requests.length, 0, 'the model server was never called');
  }, 60_000);

  test('22 start with no config argument', async () => {
    const r = await nothingSpent(() => fireact(['start']));
    assert.equal(r.code, 2);
    assert.equal(r.err, 'fireact start: needs <config>\nusage: fireact start <config> [--id ID] [--watch] [--force]\nrun "fireact start --help" for details\n');
  });

  test('23 unknown CLI command', async () => {
    const r = await nothingSpent(() => fireact(['frobnicate']));
    assert.equal(r.code, 2);
    assert.match(r.err, /^fireact: unknown command "frobnicate"\nusage: fireact <command>/);
  });

  test('25 status of an unknown experiment id', async () => {
    const r = await nothingSpent(() => fireact(['status', 'no-such-experiment']));
    assert.equal(r.code, 1);
    assert.match(r.err, /no such experiment: no-such-experiment/);
  });

  test('26 watch of an unknown experiment id', async () => {
    const r = await nothingSpent(() => fireact(['watch', 'ghost-2']));
    assert.equal(r.code, 1);
    assert.match(r.err, /no such experiment: ghost-2/);
  });

  test('27 CLI with an unreachable Temporal address', async () => {
    const file = await configFile(baseConfig());
    const r = await nothingSpent(() => fireact(['start', file, '--id', 'never'], '127.0.0.1:1'));
    assert.equal(r.code, 1);
    assert.match(r.err, /cannot reach Temporal at 127\.0\.0\.1:1 \(.*\)\. Start the dev server with: npm run dev-server/);
  });

  test('28 worker with an unreachable Temporal address', async () => {
    const r = await nothingSpent(() =>
      run(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'workers', 'main.ts')], { TEMPORAL_ADDRESS: '127.0.0.1:1', FIREACT_LOG_LEVEL: 'WARN' }),
    );
    assert.equal(r.code, 1);
    assert.match(r.err, /fireact worker: cannot reach Temporal at 127\.0\.0\.1:1 \(TEMPORAL_ADDRESS\): .*Connection refused/);
    assert.doesNotMatch(r.err, /at Function\.connect/, 'a message, not a stack trace');
  });

  test('70 worker with a FIREACT_WORKFLOW_BUNDLE that is not a file', async () => {
    const missing = path.join(dir, 'no-bundle.js');
    const r = await nothingSpent(() =>
      run(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'workers', 'main.ts')], { TEMPORAL_ADDRESS: env.address, FIREACT_LOG_LEVEL: 'WARN', FIREACT_WORKFLOW_BUNDLE: missing }),
    );
    assert.equal(r.code, 1);
    assert.equal(r.err, `fireact worker: FIREACT_WORKFLOW_BUNDLE names ${JSON.stringify(missing)}, which is not a file; build one with \`npm run bundle-workflows -- <file>\` or unset it\n`);
  });

  test('29 dev server on a port already in use', async () => {
    const holder = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    const state = path.join(dir, 'scratch', 'dev-state');
    try {
      const r = await run('bash', [path.join(REPO_ROOT, 'scripts', 'dev-server.sh'), 'start'], {
        FIREACT_TEMPORAL_PORT: String(port),
        FIREACT_UI_PORT: String(port + 1),
        FIREACT_STATE_DIR: state,
        FIREACT_TEMPORAL_BIN: temporalBin(),
      });
      assert.equal(r.code, 1);
      assert.match(r.err, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use by another program \\(not a Temporal server\\); stop it or choose another port with FIREACT_TEMPORAL_PORT`));
      await assert.rejects(fs.access(path.join(state, 'temporal.db')), 'no server state was created');
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  }, 30_000);

  test('30 temporal workflow start with a bad config in --input-file', async () => {
    const c = baseConfig();
    c.generate.tasks = [{ task: 'hotpotqa', split: 'dev', methods: ['magic'] }];
    const input = await scratch('input.json', JSON.stringify({ config: c }));
    await nothingSpent(async () => {
      const r = await run(temporalBin(), ['workflow', 'start', '--address', env.address, '--type', 'FireActExperiment', '--task-queue', 'fireact', '--workflow-id', 'badfile-1', '--input-file', input]);
      assert.equal(r.code, 0, r.err);
      const err = await env.client.workflow.getHandle('badfile-1').result().then(
        () => assert.fail('the workflow should fail'),
        (e: unknown) => e as WorkflowFailedError,
      );
      assert.ok(err instanceof WorkflowFailedError);
      let cause: unknown = err.cause;
      while (cause instanceof Error && !(cause instanceof ApplicationFailure)) cause = cause.cause;
      assert.ok(cause instanceof ApplicationFailure);
      assert.equal(cause.type, ErrorType.InvalidConfig);
      assert.match(cause.message, /generate\.tasks\.0\.methods\.0: "magic" is not allowed; use one of "io", "cot", "react", "reflexion"/);
      const watched = await fireact(['watch', 'badfile-1']);
      assert.match(watched.err, /experiment badfile-1 failed: invalid experiment config:\n {2}generate\.tasks\.0\.methods\.0: "magic"/);
    });
  }, 60_000);

  test('31 temporal workflow start with an --input-file that is not JSON', async () => {
    const input = await scratch('input.json', '{config: oops');
    const r = await nothingSpent(() =>
      run(temporalBin(), ['workflow', 'start', '--address', env.address, '--type', 'FireActExperiment', '--task-queue', 'fireact', '--workflow-id', 'badjson-1', '--input-file', input]),
    );
    assert.notEqual(r.code, 0);
    assert.match(r.err, /input #1 is not valid JSON/);
    await assert.rejects(env.client.workflow.getHandle('badjson-1').describe(), /not found/i);
  });

  const score = (args: string[]) => nothingSpent(() => fireact(['score', '--task', 'hotpotqa', ...args]));

  test('32 score with a predictions file that has a bad line', async () => {
    const file = await scratch('preds.jsonl', '{"prediction": "Paris", "answer": "Paris"}\n{"prediction": "x", answer}\n');
    const r = await score(['--predictions', file]);
    assert.equal(r.code, 1);
    assert.match(r.err, /fireact score: .*preds\.jsonl:2: not JSON \(/);
    assert.equal(r.out, '', 'no partial score is printed');
  });

  test('33 score with an empty predictions file', async () => {
    const file = await scratch('empty.jsonl', '\n');
    const r = await score(['--predictions', file]);
    assert.equal(r.code, 1);
    assert.match(r.err, /fireact score: .*empty\.jsonl: no predictions/);
  });

  test('34 score with a predictions file that does not exist', async () => {
    const r = await score(['--predictions', path.join(dir, 'missing.jsonl')]);
    assert.equal(r.code, 1);
    assert.match(r.err, /missing\.jsonl: cannot read \(ENOENT\)/);
  });

  test('35 score with an unknown task', async () => {
    const r = await nothingSpent(() => fireact(['score', '--task', 'trivia', '--predictions', 'x.jsonl']));
    assert.equal(r.code, 1);
    assert.match(r.err, /score: unknown task "trivia"; known tasks: hotpotqa, strategyqa, bamboogle, mmlu/);
  });

  const chat = (...roles: string[]) => JSON.stringify({ messages: roles.map((role, i) => ({ role, content: `turn ${i}` })) });

  async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
    const err = await p.then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApplicationFailure, String(err));
    return err;
  }

  test('36 a fine-tuning chat JSONL line that is not valid JSON', async () => {
    const lines = Array.from({ length: 12 }, () => chat('user', 'assistant'));
    lines[1] = '{"messages": [{"role": "user", "content": "q"}';
    const file = await scratch('train.jsonl', lines.join('\n') + '\n');
    const err = await nothingSpent(() => failure(validateOpenAIChatFile(file)));
    assert.equal(err.type, ErrorType.BadDatasetRecord);
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /fine-tuning file .*train\.jsonl has 1 bad line\(s\): line 2: not valid JSON \(/);
  });

  test('37 a chat record with the wrong role order', async () => {
    const lines = Array.from({ length: 12 }, () => chat('user', 'assistant'));
    lines[0] = chat('user', 'assistant', 'assistant');
    const file = await scratch('train.jsonl', lines.join('\n') + '\n');
    const err = await nothingSpent(() => failure(validateOpenAIChatFile(file)));
    assert.match(err.message, /line 1: messages\[2\]\.role: expected user \(user and assistant must alternate\)/);
  });

  test('38 a trajectory with the wrong role order', () => {
    const record: TrajectoryRecord = {
      schema: TRAJECTORY_SCHEMA,
      id: 'hotpotqa/react/q1',
      experiment: 'x',
      question: { id: 'q1', task: 'hotpotqa', split: 'dev', text: 'Who?', answers: ['Ann'] },
      method: 'react',
      teacher: { name: 't', provider: 'replay', model: 'gpt-4', replay: true },
      turns: [
        { role: 'assistant', content: 'Thought: x\nAction: finish[Ann]' },
        { role: 'assistant', content: 'Thought: y\nAction: finish[Ann]' },
      ],
      prediction: 'Ann',
      finished: true,
      reward: 1,
      metrics: {},
      steps: 1,
      trials: 1,
      malformed: 0,
      forcedFinish: false,
      usage: { calls: 0, promptTokens: 0, completionTokens: 0, cachedCalls: 0 },
    } as unknown as TrajectoryRecord;
    const mix = parseExperimentConfig({ ...baseConfig() }).datasets[0];
    assert.throws(
      () => buildDatasetMix([record], mix, 233),
      (e: unknown) => {
        assert.ok(e instanceof ApplicationFailure);
        assert.equal(e.type, ErrorType.BadDatasetRecord);
        assert.match(e.message, /1 record\(s\) do not make valid fine-tuning examples:\n {2}hotpotqa\/react\/q1 \(openai\): .*messages\[2\]\.role: expected user/);
        return true;
      },
    );
  });

  test('39 a local student whose base model path does not exist', async () => {
    let trainerStarted = false;
    const activities = createLocalFineTuneActivities({
      python: () => {
        trainerStarted = true;
        return Promise.resolve('/bin/false');
      },
    });
    const student = parseExperimentConfig({
      ...baseConfig(),
      students: [{ name: 's', backend: 'local', baseModel: path.join(dir, 'no-such-model'), datasets: ['hotpotqa'] }],
    }).students[0];
    const out = path.join(dir, 'scratch', 'model-out');
    const err = await nothingSpent(() =>
      failure(
        new MockActivityEnvironment().run(activities.trainLocal, {
          student,
          datasetName: 'hotpotqa',
          datasetPath: path.join(dir, 'train.jsonl'),
          baseDir: path.join(dir, 'scratch', 'base'),
          outDir: out,
        }),
      ),
    );
    assert.equal(err.type, ErrorType.MissingData);
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, new RegExp(`student "s": base model ${path.join(dir, 'no-such-model')} does not exist`));
    assert.equal(trainerStarted, false, 'the trainer was never started');
  });

  test('40 plan: a local student whose base model path does not exist', async () => {
    const missing = path.join(dir, 'no-such-model');
    const c = { ...baseConfig(), students: [{ name: 's', backend: 'local', baseModel: missing, datasets: ['hotpotqa'] }] };
    await planProblem(c, new RegExp(`missing model: student "s" has baseModel "${missing}", and ${missing} does not exist`));
  });

  test('41 a negative budget', async () => {
    await refused(await configFile({ ...baseConfig(), budget: { usd: -5 } }), /budget\.usd: got -5; usd must be a positive number/);
  });

  test('42 a budget for a model that is not defined', async () => {
    await refused(await configFile({ ...baseConfig(), budget: { perModel: { gpt4: { usd: 5 } } } }), /budget\.perModel\.gpt4: unknown model "gpt4"; defined models: teacher/);
  });

  test('43 budget --add with a negative amount', async () => {
    const r = await nothingSpent(() => fireact(['budget', 'dup-1', '--add', '-5']));
    assert.equal(r.code, 1);
    assert.match(r.err, /--add needs a positive number, got "-5"/);
  });

  test('44 budget of an unknown experiment id', async () => {
    const r = await nothingSpent(() => fireact(['budget', 'ghost-3', '--add', '10']));
    assert.equal(r.code, 1);
    assert.match(r.err, /no such experiment: ghost-3/);
  });

  const idForm = 'an experiment id is 1 to 100 characters: letters, digits, ".", "_" and "-", starting with a letter or digit';
  const notStarted = (id: string) => assert.rejects(env.client.workflow.getHandle(id).describe(), /not found/i, `no workflow ${id}`);

  /** `start --id <id>` refuses at once: exit 1, the message on stderr, no workflow, nothing written. */
  async function badId(id: string, why: string): Promise<void> {
    const file = await configFile(baseConfig());
    const r = await nothingSpent(() => fireact(['start', file, '--id', id]));
    assert.equal(r.code, 1);
    assert.equal(r.err, `fireact: experiment id ${JSON.stringify(id.length > 60 ? `${id.slice(0, 60)}…` : id)} is not allowed (${why}); ${idForm}\n`);
    assert.equal(r.out, '');
    await notStarted(id);
  }

  test('45 start --id with a space', () => badId('my run 1', 'it contains " "'));
  test('46 start --id with slashes', () => badId('team/alice/run1', 'it contains "/"'));
  test('47 start --id of 300 characters', () => badId('x'.repeat(300), 'it is 300 characters long'));

  test('48 temporal workflow start with a workflow id that cannot name a folder', async () => {
    const input = await scratch('input.json', JSON.stringify({ config: baseConfig() }));
    await nothingSpent(async () => {
      const r = await run(temporalBin(), ['workflow', 'start', '--address', env.address, '--type', 'FireActExperiment', '--task-queue', 'fireact', '--workflow-id', 'my run 48', '--input-file', input]);
      assert.equal(r.code, 0, r.err);
      const err = await env.client.workflow.getHandle('my run 48').result().then(
        () => assert.fail('the workflow should fail'),
        (e: unknown) => e as WorkflowFailedError,
      );
      const activity = err.cause;
      assert.ok(activity instanceof ActivityFailure);
      assert.equal(activity.retryState, RetryState.NON_RETRYABLE_FAILURE, 'refused on the first attempt, not retried');
      assert.ok(activity.cause instanceof ApplicationFailure);
      assert.equal(activity.cause.type, ErrorType.InvalidExperimentId);
      assert.equal(activity.cause.message, `experiment id "my run 48" is not allowed (it contains " "); ${idForm}`);
      const watched = await fireact(['watch', 'my run 48']);
      assert.match(watched.err, /experiment my run 48 failed: experiment id "my run 48" is not allowed \(it contains " "\)/);
    });
    await assert.rejects(fs.access(path.join(artifacts, 'my_run_48')), 'no folder for it');
  }, 60_000);

  test('49 resume with an id that cannot name a folder', async () => {
    // An unreachable server: the id is refused before the CLI connects.
    const r = await nothingSpent(() => fireact(['resume', 'team/alice/run1', '--new'], '127.0.0.1:1'));
    assert.equal(r.code, 1);
    assert.equal(r.err, `fireact: experiment id "team/alice/run1" is not allowed (it contains "/"); ${idForm}\n`);
  });

  test('50 start --id that differs from an existing experiment only in case', async () => {
    const file = await configFile({ ...baseConfig(), name: 'dup' });
    await nothingSpent(async () => {
      const start = await fireact(['start', file, '--id', 'DUP-1']);
      assert.equal(start.code, 0, start.err);
      const watched = await fireact(['watch', 'DUP-1']);
      assert.equal(watched.code, 1);
      assert.match(
        watched.err,
        new RegExp(`experiment DUP-1 failed: experiment id "DUP-1" differs only in case from the folder of experiment "dup-1" in ${artifacts.replace(/[.]/g, '\\.')}; on a case-insensitive file system they would share it, so pick another id`),
      );
    });
  }, 60_000);

  test('51 a task and split listed twice under generate', async () => {
    const c = baseConfig();
    c.generate.tasks = [
      { task: 'hotpotqa', split: 'fireact-react', methods: ['react'], sample: { n: 2 } },
      { task: 'hotpotqa', split: 'fireact-react', methods: ['cot'], sample: { n: 3 } },
    ];
    await refused(await configFile(c), /generate\.tasks\.1: hotpotqa fireact-react is already generate\.tasks\.0; list all its methods in that entry/);
  });

  test('52 two students whose fine-tuned models would share a name', async () => {
    const mixes = ['b-c', 'c'].map((name) => ({ name, tasks: ['hotpotqa'], methods: ['react'] }));
    const students = [
      { name: 'a', backend: 'local', baseModel: 'init', datasets: ['b-c'] },
      { name: 'a-b', backend: 'local', baseModel: 'init', datasets: ['c'] },
    ];
    await refused(
      await configFile({ ...baseConfig(), datasets: mixes, students }),
      /students\.1\.name: student "a-b" on dataset "c" and student "a" on dataset "b-c" would both be named "a-b-c"; rename one/,
    );
  });

  const big = { name: 'big', backend: 'local', baseModel: 'meta-llama/Llama-2-7b-hf', mode: 'full', gpus: 1, gpuMemoryGB: 24, batchSize: 4, maxLen: 1024, datasets: ['hotpotqa'] };
  const tooBig =
    /GPU memory: student "big" \(meta-llama\/Llama-2-7b-hf, 6\.74B parameters; full, micro-batch 4 × 1024 tokens\) needs about 121\.4 GiB per GPU \(weights 12\.6 GiB, gradients 12\.6 GiB, optimizer 75\.3 GiB, activations 20\.0 GiB\), but the declared 1 x 24 GB GPU has 22\.1 GiB usable; cheapest change that fits: mode: lora instead of full and gradientCheckpointing: true \(about 16\.7 GiB per GPU\)/;

  test('53 a 7B full fine-tune declared on one 24 GB GPU', async () => {
    await refused(await configFile({ ...baseConfig(), students: [big] }), tooBig);
  });

  test('54 plan: a 7B full fine-tune declared on one 24 GB GPU', async () => {
    await planProblem({ ...baseConfig(), students: [big] }, tooBig);
  });

  test('55 a local QLoRA student with a sharding strategy the trainer cannot run', async () => {
    let trainerStarted = false;
    const activities = createLocalFineTuneActivities({
      python: () => {
        trainerStarted = true;
        return Promise.resolve('/bin/false');
      },
    });
    const student = parseExperimentConfig({ ...baseConfig(), students: [{ name: 's', backend: 'local', baseModel: 'init', mode: 'qlora', sharding: 'fsdp', gpus: 4, datasets: ['hotpotqa'] }] }).students[0];
    const err = await nothingSpent(() =>
      failure(
        new MockActivityEnvironment().run(activities.trainLocal, {
          student,
          datasetName: 'hotpotqa',
          datasetPath: path.join(dir, 'train.jsonl'),
          baseDir: path.join(dir, 'scratch', 'base'),
          outDir: path.join(dir, 'scratch', 'model-out'),
        }),
      ),
    );
    assert.equal(err.type, ErrorType.InvalidConfig);
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /^student "s": the local trainer cannot run mode "qlora" with sharding "fsdp"; QLoRA runs with sharding "ddp" .*Change the student to mode "lora" or sharding "ddp"/);
    assert.equal(trainerStarted, false, 'the trainer was never started');
  });

  /** `validate` reports the problem and exits 1; `start` refuses it (exit 1), and no workflow is started. */
  async function checkRefused(c: unknown, message: RegExp, id: string): Promise<void> {
    const file = await configFile(c);
    await nothingSpent(async () => {
      const v = await fireact(['validate', file]);
      assert.equal(v.code, 1, v.out);
      assert.match(v.err, message);
      assert.match(v.err, /config has \d+ problem\(s\); `fireact start` refuses it unless --force/);
      const s = await fireact(['start', file, '--id', id]);
      assert.equal(s.code, 1, s.out);
      assert.match(s.err, message);
      assert.match(s.err, /not started: \d+ problem\(s\) above; fix them, or start anyway with --force/);
      await assert.rejects(env.client.workflow.getHandle(id).describe(), /not found/i);
    });
  }

  test('56 generation questions that are all evaluation questions', async () => {
    const c = { ...baseConfig(), models: openaiTeacher() };
    c.generate.tasks = [{ task: 'hotpotqa', split: 'dev', methods: ['react', 'cot'], sample: { n: 4 } }];
    c.datasets = [{ name: 'hotpotqa', tasks: ['hotpotqa'], methods: ['react', 'cot'] }];
    await checkRefused(
      c,
      /problem: generate\.tasks\.0 \(hotpotqa dev\): all 4 questions are evaluation questions \(hotpotqa dev\): all 8 episodes would be paid for, then dropped by curation as eval-split leaks; generate on a split that is not evaluated on/,
      'leak-1',
    );
  });

  test('57 generation questions that are evaluation questions, with the eval-leak filter off', async () => {
    const c = { ...baseConfig(), curate: { excludeEvalQuestions: false }, evaluate: { tasks: [{ task: 'hotpotqa', split: 'dev', sample: { n: 2, order: 'file' } }] } };
    c.generate.tasks = [{ task: 'hotpotqa', split: 'dev', methods: ['react'], sample: { n: 3, order: 'file' } }];
    await checkRefused(
      c,
      /problem: generate\.tasks\.0 \(hotpotqa dev\): 3 of 3 questions are also evaluation questions \(hotpotqa dev\) and curate\.excludeEvalQuestions is off: students would be trained on questions they are evaluated on/,
      'leak-2',
    );
  });

  test('58 a dataset mix that would be empty', async () => {
    const c = { ...baseConfig(), datasets: [{ name: 'cot-only', tasks: ['hotpotqa'], methods: ['cot'] }] };
    await checkRefused(c, /problem: dataset "cot-only" would be empty: no generation entry has one of its tasks \(hotpotqa\) with one of its methods \(cot\)/, 'empty-1');
  });

  test("59 a student trained on a mix that would be empty", async () => {
    const c = {
      ...baseConfig(),
      datasets: [...baseConfig().datasets, { name: 'cot-only', tasks: ['hotpotqa'], methods: ['cot'] }],
      students: [{ name: 's', backend: 'local', baseModel: 'init', datasets: ['cot-only'] }],
    };
    await checkRefused(c, /problem: student "s" would train on dataset "cot-only", which would be empty: its fine-tuning would find no example/, 'empty-2');
  });

  test('60 a model URL whose scheme is not http(s)', async () => {
    const c = { ...baseConfig(), models: { teacher: { provider: 'openai', model: 'gpt-4', baseUrl: 'ftp://127.0.0.1/v1' } } };
    await refused(await configFile(c), /models\.teacher\.baseUrl: "ftp:\/\/127\.0\.0\.1\/v1" is not an http:\/\/ or https:\/\/ URL/);
  });

  test('61 validate sees a sample larger than its split', async () => {
    const c = baseConfig();
    c.generate.tasks = [{ task: 'hotpotqa', split: 'fireact-react', methods: ['react'], sample: { n: 100_000 } }];
    await checkRefused(c, /problem: generate\.tasks\.0 \(hotpotqa fireact-react\): sample n = 100000 is larger than the split, which has \d+ questions/, 'toolarge-1');
  });

  test("62 a budget cap smaller than one episode's reservation", async () => {
    const c = { ...baseConfig(), models: { teacher: { provider: 'openai', model: 'gpt-4o-mini', baseUrl: model.url } }, budget: { usd: 0.0001 } };
    await checkRefused(c, /problem: budget\.usd \$0\.0001 is less than what one react generation episode reserves \(\$0\.\d{4}\): the experiment would pause before it/, 'tinycap-1');
  });

  test('63 an unknown CLI flag', async () => {
    const r = await nothingSpent(() => fireact(['plan', 'x.yaml', '--jsn']));
    assert.equal(r.code, 2);
    assert.equal(r.err, 'fireact plan: unknown option --jsn\nusage: fireact plan <config> [--json]\nrun "fireact plan --help" for details\n');
  });

  test('64 an extra CLI argument', async () => {
    const r = await nothingSpent(() => fireact(['status', 'dup-1', 'extra']));
    assert.equal(r.code, 2);
    assert.match(r.err, /^fireact status: unexpected argument "extra"\nusage: fireact status <id>/);
  });

  test('65 cancel of an experiment that has ended', async () => {
    const r = await nothingSpent(() => fireact(['cancel', 'dup-1']));
    assert.equal(r.code, 1);
    assert.equal(r.err, 'fireact: experiment dup-1 is COMPLETED; there is nothing to cancel\n');
  });

  test('66 budget of an experiment that has ended', async () => {
    const r = await nothingSpent(() => fireact(['budget', 'dup-1', '--add', '10']));
    assert.equal(r.code, 1);
    assert.equal(r.err, 'fireact: experiment dup-1 is COMPLETED; its budget can no longer be raised\n');
  });

  test('67 score --split that the task does not have', async () => {
    const file = await scratch('preds.jsonl', '{"prediction": "Paris", "answer": "Paris"}\n');
    const r = await score(['--predictions', file, '--split', 'trian']);
    assert.equal(r.code, 1);
    assert.match(r.err, /score: task hotpotqa has no split "trian"; its splits are: dev, test/);
    assert.equal(r.out, '');
  });

  test('68 resume with a changed config that has a problem', async () => {
    const c = { ...baseConfig(), name: 'dup', datasets: [{ name: 'cot-only', tasks: ['hotpotqa'], methods: ['cot'] }] };
    const file = await configFile(c);
    const r = await nothingSpent(() => fireact(['resume', 'dup-1', '--config', file]));
    assert.equal(r.code, 1);
    assert.match(r.err, /problem: dataset "cot-only" would be empty/);
    assert.ok(r.err.endsWith(`fireact: ${file}: not resumed: 1 problem(s) above; fix them, or resume anyway with --force\n`), r.err);
    await assert.rejects(env.client.workflow.getHandle('dup-1-r1').describe(), /not found/i);
  });

  test('71 a cacheDir that is a file, and an artifactDir under a file', async () => {
    const file = path.join(dir, 'not-a-folder.txt');
    await fs.writeFile(file, 'a file\n');
    await checkRefused({ ...baseConfig(), cacheDir: file }, new RegExp(`problem: cacheDir "${file}" is a file, not a folder`), 'folders-1');
    await checkRefused({ ...baseConfig(), artifactDir: path.join(file, 'artifacts') }, new RegExp(`problem: artifactDir "${file}/artifacts" lies under ${file}, which is a file, not a folder`), 'folders-2');
  });
});

test('69 a student trained on a mix written without the format it needs', async () => {
  const c = {
    ...baseConfig(),
    datasets: [...baseConfig().datasets, { name: 'alpaca-only', tasks: ['hotpotqa'], methods: ['react'], formats: ['alpaca'] }],
    students: [{ name: 's', backend: 'local', baseModel: 'init', datasets: ['alpaca-only'] }],
  };
  const file = await configFile(c);
  const message =
    'students.0.datasets.0: student "s" (backend local) trains on the "openai" format, but dataset "alpaca-only" is written only as "alpaca"; add "openai" to datasets.1.formats';
  await nothingSpent(async () => {
    const v = await fireact(['validate', file]);
    assert.equal(v.code, 1, v.out);
    assert.equal(v.err, `invalid experiment config:\n  ${file}: ${message}\n`);
    const s = await fireact(['start', file, '--id', 'alpaca-only-1', '--force']);
    assert.equal(s.code, 1, s.out);
    assert.ok(s.err.includes(message), s.err);
    await assert.rejects(env.client.workflow.getHandle('alpaca-only-1').describe(), /not found/i);
  });
});

test('the earlier experiment is intact after every bad input', async () => {
  assert.ok(earlier && earlier.size > 0);
  assert.deepEqual(await snapshot(artifacts), earlier);
  assert.equal(model.requests.length, 0, 'no bad input reached the model server');
});
