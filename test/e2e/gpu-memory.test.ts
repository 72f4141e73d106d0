// GPU memory per device for local students: the estimate itself, where model shapes come from, and
// `fireact plan` / `validate` refusing a run that cannot fit the declared GPUs (the paper's targets:
// Llama-2-7B full fine-tune with FSDP on 4 x 80 GB and LoRA on one 24 GB GPU pass; a full fine-tune on
// one 24 GB GPU is refused, naming the cheapest change that fits).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, test } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import YAML from 'yaml';
import { parseExperimentConfig } from '../../core/config';
import { ErrorType } from '../../core/errors';
import { createClientProvider } from '../../lib/experiment/clients';
import { createLocalFineTuneActivities } from '../../activities/finetune-local';
import { estimateGpuMemory, parameterCount, type TrainingSetup } from '../../lib/plan/gpu-memory';
import { KNOWN_ARCHITECTURES, knownArchitecture } from '../../lib/plan/model-shapes';
import { planExperiment } from '../../lib/plan/plan';
import { DATA_DIR, REPO_ROOT, tempDir } from '../../scripts/support/paths';

const created: string[] = [];
afterAll(async () => {
  for (const d of created) await fs.rm(d, { recursive: true, force: true });
});
async function scratch(): Promise<string> {
  const d = await tempDir('gpu-memory');
  created.push(d);
  return d;
}

const LLAMA7 = 'meta-llama/Llama-2-7b-hf';
const GiB = 2 ** 30;

function config(students: Record<string, unknown>[], dir: string) {
  return {
    name: 'gpu-memory',
    dataDir: DATA_DIR,
    artifactDir: path.join(dir, 'artifacts'),
    cacheDir: path.join(dir, 'cache'),
    models: { teacher: { provider: 'replay', model: 'gpt-4', replayFiles: ['hotpotqa'] } },
    generate: { teacher: 'teacher', tasks: [{ task: 'hotpotqa', split: 'fireact-react', methods: ['react'], sample: { n: 3 } }], shardSize: 3 },
    datasets: [{ name: 'hq', tasks: ['hotpotqa'], methods: ['react'] }],
    students,
  };
}

const paperFull = { name: 'paper-full', backend: 'local', baseModel: LLAMA7, mode: 'full', sharding: 'fsdp', gpus: 4, gpuMemoryGB: 80, batchSize: 4, maxLen: 1024, datasets: ['hq'] };
const paperLora = { name: 'paper-lora', backend: 'local', baseModel: LLAMA7, mode: 'lora', gpus: 1, gpuMemoryGB: 24, gradientCheckpointing: true, batchSize: 4, maxLen: 1024, datasets: ['hq'] };
const full24 = { name: 'full-24', backend: 'local', baseModel: LLAMA7, mode: 'full', gpus: 1, gpuMemoryGB: 24, batchSize: 4, maxLen: 1024, datasets: ['hq'] };

function fireact(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'fireact.js'), ...args], { cwd: REPO_ROOT, env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const setup = (over: Partial<TrainingSetup> = {}): TrainingSetup => ({
  mode: 'full',
  sharding: 'ddp',
  gpus: 1,
  batchSize: 4,
  gradAccum: 1,
  maxLen: 1024,
  gradientCheckpointing: false,
  loraR: 8,
  ...over,
});

test('the known-architecture table gives Llama-2-7B its published 6,738,415,616 parameters; the parts add up', () => {
  const llama = knownArchitecture('META-LLAMA/llama-2-7b-hf');
  assert.ok(llama, 'matched without regard to case');
  assert.equal(parameterCount(llama), 6_738_415_616);
  for (const a of KNOWN_ARCHITECTURES) {
    assert.ok(a.source.includes(a.ids[0]), `${a.ids[0]} names its source`);
    assert.equal(a.hidden % a.heads, 0, `${a.ids[0]}: heads divide hidden`);
  }
  const e = estimateGpuMemory(llama, setup());
  assert.equal(e.total, e.weights + e.gradients + e.optimizer + e.activations + e.overhead);
  // Full fine-tuning, mixed precision with AdamW: 16 bytes per parameter before activations.
  assert.equal(e.weights + e.gradients + e.optimizer, 16 * e.params);

  // Sharding divides the model state by the GPU count (plus one gathered layer); DDP divides nothing.
  const ddp4 = estimateGpuMemory(llama, setup({ gpus: 4 }));
  const fsdp4 = estimateGpuMemory(llama, setup({ gpus: 4, sharding: 'fsdp' }));
  const zero4 = estimateGpuMemory(llama, setup({ gpus: 4, sharding: 'zero3' }));
  assert.equal(ddp4.total, e.total);
  assert.equal(fsdp4.optimizer, e.optimizer / 4);
  assert.equal(zero4.total, fsdp4.total);
  assert.ok(fsdp4.weights > e.weights / 4 && fsdp4.weights < e.weights / 2);
  // Checkpointing and a smaller micro-batch cut activations only; LoRA and QLoRA cut the model state.
  const gc = estimateGpuMemory(llama, setup({ gradientCheckpointing: true }));
  assert.ok(gc.activations < e.activations / 4);
  assert.equal(gc.optimizer, e.optimizer);
  assert.ok(Math.abs(estimateGpuMemory(llama, setup({ batchSize: 1 })).activations - e.activations / 4) < 1);
  const lora = estimateGpuMemory(llama, setup({ mode: 'lora' }));
  const qlora = estimateGpuMemory(llama, setup({ mode: 'qlora' }));
  assert.ok(lora.trainableParams > 15e6 && lora.trainableParams < 25e6, String(lora.trainableParams)); // r = 8 on all seven projections
  assert.ok(lora.optimizer < GiB && qlora.weights < lora.weights / 3);
});

test('plan: the paper full fine-tune (FSDP, 4 x 80 GB) and LoRA (one 24 GB GPU) fit; a full fine-tune on one 24 GB GPU is refused with the cheapest change', async () => {
  const dir = await scratch();
  const plan = await planExperiment(parseExperimentConfig(config([paperFull, paperLora, full24], dir)), createClientProvider({}), { env: {}, base: dir });
  const byName = new Map(plan.gpuMemory.map((g) => [g.student, g]));
  const [pf, pl, bad] = ['paper-full', 'paper-lora', 'full-24'].map((n) => byName.get(n)!);
  assert.equal(pf.fits, true);
  assert.equal(pl.fits, true);
  assert.equal(bad.fits, false);
  assert.match(pf.shapesFrom!, /config\.json of meta-llama\/Llama-2-7b-hf on the Hugging Face Hub/);
  assert.ok(pf.estimate!.total > 30 * GiB && pf.estimate!.total < 73 * GiB, `${pf.estimate!.total / GiB} GiB`);
  assert.ok(pl.estimate!.total > 13 * GiB && pl.estimate!.total < 22 * GiB, `${pl.estimate!.total / GiB} GiB`);
  assert.ok(bad.estimate!.total > 100 * GiB);

  assert.equal(plan.problems.length, 1, plan.problems.join('\n'));
  assert.match(
    plan.problems[0],
    /^GPU memory: student "full-24" \(meta-llama\/Llama-2-7b-hf, 6\.74B parameters; full, micro-batch 4 × 1024 tokens\) needs about 1\d\d\.\d GiB per GPU \(weights 12\.6 GiB, gradients 12\.6 GiB, optimizer 75\.3 GiB, activations \d+\.\d GiB\), but the declared 1 x 24 GB GPU has 22\.1 GiB usable; cheapest change that fits: mode: lora instead of full and gradientCheckpointing: true \(about \d+\.\d GiB per GPU\); or, keeping mode full: sharding: fsdp across 8 GPUs of 24 GB and gradientCheckpointing: true/,
  );
  // The trainer runs FSDP (on GPUs): no warning about the strategy.
  assert.ok(!plan.warnings.some((w) => /cannot run/.test(w)), plan.warnings.join('\n'));
  assert.ok(plan.assumptions.some((a) => a.startsWith('GPU memory per device')));
});

test('the cheapest change: checkpointing before a smaller batch, sharding across declared GPUs before LoRA', async () => {
  const dir = await scratch();
  const lora24 = { ...paperLora, name: 'lora-nogc', gradientCheckpointing: false };
  const ddp4 = { ...paperFull, name: 'ddp4', sharding: 'ddp' };
  const tiny = { ...full24, name: 'tiny', gpuMemoryGB: 8 }; // 7B full, 8 GB: LoRA does not fit either, QLoRA does
  const plan = await planExperiment(parseExperimentConfig(config([lora24, ddp4, tiny], dir)), createClientProvider({}), { env: {}, base: dir });
  const problem = (name: string) => plan.problems.find((p) => p.includes(`student "${name}"`)) ?? '';
  assert.match(problem('lora-nogc'), /cheapest change that fits: gradientCheckpointing: true \(about/);
  assert.doesNotMatch(problem('lora-nogc'), /keeping mode/);
  assert.match(problem('ddp4'), /but the declared 4 x 80 GB GPUs have 73\.6 GiB usable each; cheapest change that fits: sharding: fsdp across the declared GPUs \(about/);
  assert.match(problem('tiny'), /cheapest change that fits: mode: qlora and gradientCheckpointing: true(?: and batchSize 1 with gradAccum ×batch \(same effective batch\))? \(about/);
  assert.match(problem('tiny'), /or, keeping mode full: sharding: fsdp across 32 GPUs of 8 GB and gradientCheckpointing: true and batchSize 1 with gradAccum ×batch \(same effective batch\) \(about/);
});

test('model shapes come from the model folder, then the Hugging Face cache, then the table; unknown ones are a warning', async () => {
  const dir = await scratch();
  const shapes = { hidden_size: 2048, num_hidden_layers: 16, num_attention_heads: 16, num_key_value_heads: 4, vocab_size: 50000, intermediate_size: 5632 };
  const folder = path.join(dir, 'my-model');
  await fs.mkdir(folder, { recursive: true });
  await fs.writeFile(path.join(folder, 'config.json'), JSON.stringify(shapes));
  // A cached hub model, laid out as huggingface_hub does.
  const hub = path.join(dir, 'hf', 'hub');
  const snapshot = path.join(hub, 'models--acme--tiny-llama', 'snapshots', 'abc123');
  await fs.mkdir(snapshot, { recursive: true });
  await fs.writeFile(path.join(snapshot, 'config.json'), JSON.stringify({ ...shapes, num_hidden_layers: 8 }));
  // Also cached: its config.json says 2 layers, so the cache wins over the table.
  const cachedLlama = path.join(hub, 'models--meta-llama--Llama-2-7b-hf', 'snapshots', 'def456');
  await fs.mkdir(cachedLlama, { recursive: true });
  await fs.writeFile(path.join(cachedLlama, 'config.json'), JSON.stringify({ ...shapes, num_hidden_layers: 2 }));

  const st = (name: string, baseModel: string) => ({ name, backend: 'local', baseModel, gpus: 1, gpuMemoryGB: 24, datasets: ['hq'] });
  const students = [st('folder', './my-model'), st('cached', 'acme/tiny-llama'), st('llama', LLAMA7), st('unknown', 'acme/never-heard-of'), st('demo', 'init')];
  const plan = await planExperiment(parseExperimentConfig(config(students, dir)), createClientProvider({}), { env: { HF_HOME: path.join(dir, 'hf') }, base: dir });
  const g = new Map(plan.gpuMemory.map((x) => [x.student, x]));
  assert.equal(g.get('folder')!.shapesFrom, path.join(folder, 'config.json'));
  assert.equal(g.get('cached')!.shapesFrom, path.join(snapshot, 'config.json'));
  assert.equal(g.get('llama')!.shapesFrom, path.join(cachedLlama, 'config.json'));
  assert.ok(g.get('folder')!.estimate!.params > 2 * g.get('cached')!.estimate!.params * 0.6);
  assert.equal(g.get('unknown')!.estimate, null);
  assert.equal(g.get('unknown')!.fits, null);
  assert.equal(g.get('demo')!.shapesFrom, 'init settings');
  assert.ok(
    plan.warnings.includes('student "unknown": cannot estimate GPU memory for "acme/never-heard-of" (no config.json found here and not a known architecture); its fit on 1 x 24 GB is unchecked'),
    plan.warnings.join('\n'),
  );
  assert.deepEqual(plan.problems, []);
});

test('CLI: validate and plan refuse the 7B full fine-tune on one 24 GB GPU (exit 1); the paper configs validate', async () => {
  const dir = await scratch();
  const bad = path.join(dir, 'full-24.yaml');
  await fs.writeFile(bad, YAML.stringify(config([full24], dir)));
  const v = fireact(['validate', bad]);
  assert.equal(v.status, 1, v.stdout);
  assert.match(v.stderr, /^invalid experiment config:\n {2}.*full-24\.yaml: GPU memory: student "full-24" .* needs about 1\d\d\.\d GiB per GPU .* cheapest change that fits: mode: lora instead of full/);
  const p = fireact(['plan', bad]);
  assert.equal(p.status, 1, p.stderr);
  assert.match(p.stdout, /GPU memory per device \(GiB; local students\)/);
  assert.match(p.stdout, /full-24 +meta-llama\/Llama-2-7b-hf +6\.74B +full, micro-batch 4 × 1024 tokens .* 1 x 24 GB +NO/);
  assert.match(p.stdout, /problems \(1\):\n {2}- GPU memory: student "full-24"/);

  const good = path.join(dir, 'paper.yaml');
  await fs.writeFile(good, YAML.stringify(config([paperFull, paperLora], dir)));
  const ok = fireact(['validate', good]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /paper\.yaml: config is valid/);
  assert.doesNotMatch(ok.stderr, /cannot run/);
  const planned = fireact(['plan', good, '--json']);
  assert.equal(planned.status, 0, planned.stderr);
  const json = JSON.parse(planned.stdout) as { gpuMemory: { student: string; fits: boolean }[]; problems: string[] };
  assert.deepEqual(json.gpuMemory.map((x) => [x.student, x.fits]), [['paper-full', true], ['paper-lora', true]]);
  assert.deepEqual(json.problems, []);
});

test('the local fine-tune refuses, non-retryably and before the trainer starts, QLoRA with a sharded strategy', async () => {
  const dir = await scratch();
  let trainerStarted = false;
  const activities = createLocalFineTuneActivities({
    python: () => {
      trainerStarted = true;
      return Promise.resolve('/bin/false');
    },
  });
  for (const sharding of ['fsdp', 'zero3'] as const) {
    const over = { mode: 'qlora', sharding };
    const student = parseExperimentConfig(config([{ name: 's', backend: 'local', baseModel: 'init', datasets: ['hq'], gpus: 2, ...over }], dir)).students[0];
    const err = await new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') })
      .run(activities.trainLocal, { student, datasetName: 'hq', datasetPath: path.join(dir, 'train.jsonl'), baseDir: path.join(dir, 'base'), outDir: path.join(dir, 'out') })
      .then(
        () => assert.fail('expected a refusal'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, ErrorType.InvalidConfig);
    assert.equal(err.nonRetryable, true);
    assert.equal(
      err.message,
      `student "s": the local trainer cannot run mode "qlora" with sharding "${sharding}"; QLoRA runs with sharding "ddp" (its 4-bit base is small enough to replicate). Change the student to mode "lora" or sharding "ddp"`,
    );
  }
  assert.equal(trainerStarted, false, 'the trainer was never started');
  assert.deepEqual(await fs.readdir(dir), [], 'nothing written');
});
