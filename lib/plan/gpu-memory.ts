// GPU memory per device for a local student's training run, and what to change when it cannot fit
// the declared GPUs. A first-order model of mixed-precision (bf16) training with AdamW:
//   weights      2 B/param (bf16); QLoRA: 4-bit layer weights (~0.55 B/param with quantisation
//                constants), embeddings and head in bf16
//   gradients    full: 2 B/param (bf16); LoRA/QLoRA: 4 B per adapter param (fp32)
//   optimizer    full: 12 B/param (fp32 master copy + Adam m, v); LoRA/QLoRA: 8 B per adapter param
//   sharding     FSDP full-shard and ZeRO-3 divide weights, gradients and optimizer state by the GPU
//                count, plus one gathered layer (two, with prefetch) in bf16; DDP divides nothing
//   activations  per micro-batch token and layer 16·hidden + 8·intermediate bytes (attention through
//                SDPA/FlashAttention, no s² score matrix); with gradient checkpointing only each layer's
//                input (2·hidden) is kept, plus one layer recomputed; logits 10 B per token and
//                vocabulary entry (bf16, fp32 upcast, fp32 gradient)
//   overhead     1 GiB (CUDA context, kernels), and only 92% of the card counts as usable (allocator
//                fragmentation).
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StudentConfig } from '../../core/config';
import { isHostedFineTune } from '../../core/names';
import { trainerCannotRun } from '../finetune/local/support';
import { knownArchitecture, shapeFromConfigJson, type ModelShape } from './model-shapes';

export const GPU_MEMORY_ASSUMPTION =
  'GPU memory per device: bf16 weights and AdamW (16 B per trained parameter for full fine-tuning, split across GPUs by fsdp/zero3), activations for batchSize × maxLen tokens with SDPA attention, 1 GiB overhead, 92% of each GPU usable; a first-order estimate, not a measurement';

const GiB = 2 ** 30;
const OVERHEAD = 1 * GiB;
const USABLE = 0.92;
/** Bytes per 4-bit layer weight, quantisation constants included. */
const QLORA_BYTES = 0.55;

export type TrainingMode = StudentConfig['mode'];
export type Sharding = StudentConfig['sharding'];

/** The fields of a local student that decide its memory. */
export interface TrainingSetup {
  mode: TrainingMode;
  sharding: Sharding;
  gpus: number;
  batchSize: number;
  gradAccum: number;
  maxLen: number;
  gradientCheckpointing: boolean;
  loraR: number;
}

export interface MemoryEstimate {
  params: number;
  trainableParams: number;
  /** Bytes per GPU. */
  weights: number;
  gradients: number;
  optimizer: number;
  activations: number;
  overhead: number;
  total: number;
}

function layerParams(m: ModelShape): { attention: number; mlp: number; lora: (r: number) => number } {
  const kv = (m.hidden / m.heads) * m.kvHeads;
  const attention = 2 * m.hidden * m.hidden + 2 * m.hidden * kv;
  const mlp = 3 * m.hidden * m.intermediate;
  // An adapter of rank r on an in×out linear has r·(in+out) parameters; "all-linear" (as the trainer
  // does) adapts q, k, v, o, gate, up and down.
  const lora = (r: number) => r * (2 * (m.hidden + m.hidden) + 2 * (m.hidden + kv) + 3 * (m.hidden + m.intermediate));
  return { attention, mlp, lora };
}

export function parameterCount(m: ModelShape): number {
  const { attention, mlp } = layerParams(m);
  const embeddings = m.vocab * m.hidden * (m.tiedEmbeddings ? 1 : 2);
  return embeddings + m.layers * (attention + mlp + 2 * m.hidden) + m.hidden;
}

export function estimateGpuMemory(m: ModelShape, s: TrainingSetup): MemoryEstimate {
  const layer = layerParams(m);
  const params = parameterCount(m);
  const linear = m.layers * (layer.attention + layer.mlp);
  const full = s.mode === 'full';
  const trainableParams = full ? params : m.layers * layer.lora(s.loraR);
  const shards = s.sharding === 'ddp' ? 1 : s.gpus;
  const baseWeights = s.mode === 'qlora' ? QLORA_BYTES * linear + 2 * (params - linear) : 2 * params;
  const adapterWeights = full ? 0 : 4 * trainableParams;
  const gathered = shards > 1 ? 2 * 2 * (layer.attention + layer.mlp) : 0;
  const weights = (baseWeights + adapterWeights) / shards + gathered;
  const gradients = ((full ? 2 : 4) * trainableParams) / shards;
  const optimizer = ((full ? 12 : 8) * trainableParams) / shards;
  const tokens = s.batchSize * s.maxLen;
  const perLayer = tokens * (16 * m.hidden + 8 * m.intermediate);
  const layers = s.gradientCheckpointing ? m.layers * tokens * 2 * m.hidden + perLayer : m.layers * perLayer;
  const activations = layers + tokens * m.vocab * 10;
  const total = weights + gradients + optimizer + activations + OVERHEAD;
  return { params, trainableParams, weights, gradients, optimizer, activations, overhead: OVERHEAD, total };
}

function usableBytes(gpuMemoryGB: number): number {
  return gpuMemoryGB * GiB * USABLE;
}

const gib = (bytes: number) => `${(bytes / GiB).toFixed(1)} GiB`;

function setupOf(st: StudentConfig): TrainingSetup {
  return {
    mode: st.mode,
    sharding: st.sharding,
    gpus: st.gpus,
    batchSize: st.batchSize,
    gradAccum: st.gradAccum,
    maxLen: st.maxLen,
    gradientCheckpointing: st.gradientCheckpointing,
    loraR: st.lora.r,
  };
}

interface Change {
  /** How the change reads in the refusal, in config terms. */
  says: string;
  apply: (s: TrainingSetup) => TrainingSetup | undefined;
}

const checkpointing: Change = {
  says: 'gradientCheckpointing: true',
  apply: (s) => (s.gradientCheckpointing ? undefined : { ...s, gradientCheckpointing: true }),
};
const smallBatch: Change = {
  says: 'batchSize 1 with gradAccum ×batch (same effective batch)',
  apply: (s) => (s.batchSize > 1 ? { ...s, batchSize: 1, gradAccum: s.gradAccum * s.batchSize } : undefined),
};
const shardDeclared: Change = {
  says: 'sharding: fsdp across the declared GPUs',
  apply: (s) => (s.sharding === 'ddp' && s.gpus > 1 ? { ...s, sharding: 'fsdp' } : undefined),
};
const lora: Change = { says: 'mode: lora instead of full', apply: (s) => (s.mode === 'full' ? { ...s, mode: 'lora' } : undefined) };
const qlora: Change = { says: 'mode: qlora', apply: (s) => (s.mode !== 'qlora' ? { ...s, mode: 'qlora' } : undefined) };

/** Cheapest first: same hardware and same result, then a different training method, then more GPUs. */
const LADDER: Change[][] = [
  [checkpointing],
  [smallBatch],
  [checkpointing, smallBatch],
  [shardDeclared],
  [shardDeclared, checkpointing],
  [shardDeclared, checkpointing, smallBatch],
  [lora],
  [lora, checkpointing],
  [lora, checkpointing, smallBatch],
  [qlora],
  [qlora, checkpointing],
  [qlora, checkpointing, smallBatch],
];

function describe(s: TrainingSetup): string {
  const sharding = s.sharding === 'ddp' ? (s.gpus > 1 ? 'DDP' : '') : s.sharding === 'fsdp' ? 'FSDP full-shard' : 'ZeRO-3';
  return `${s.mode}${sharding ? `, ${sharding}` : ''}, micro-batch ${s.batchSize} × ${s.maxLen} tokens${s.gradientCheckpointing ? ', gradient checkpointing' : ''}`;
}

/** The fewest GPUs (sharded; checkpointing and a smaller micro-batch if need be) of the same memory that fit this setup. */
function moreGpus(m: ModelShape, s: TrainingSetup, gpuMemoryGB: number): string | undefined {
  const room = usableBytes(gpuMemoryGB);
  const tweaks: Change[][] = [[], [checkpointing], [checkpointing, smallBatch]];
  for (const gpus of [2, 4, 8, 16, 32, 64]) {
    if (gpus <= s.gpus) continue;
    const sharded: TrainingSetup = { ...s, gpus, sharding: s.sharding === 'ddp' ? 'fsdp' : s.sharding };
    for (const steps of tweaks) {
      let next: TrainingSetup | undefined = sharded;
      for (const step of steps) next = next && step.apply(next);
      if (!next) continue;
      const e = estimateGpuMemory(m, next);
      if (e.total > room) continue;
      return [`sharding: ${next.sharding} across ${gpus} GPUs of ${gpuMemoryGB} GB`, ...steps.map((c) => c.says)].join(' and ') + ` (about ${gib(e.total)} per GPU)`;
    }
  }
  return undefined;
}

/**
 * What to change so the run fits, in words: the first rung of the ladder that fits, else the fewest
 * more GPUs. When that changes the training method, the fewest GPUs that keep it are named too.
 */
function cheapestFit(m: ModelShape, s: TrainingSetup, gpuMemoryGB: number): string | undefined {
  const room = usableBytes(gpuMemoryGB);
  for (const steps of LADDER) {
    let next: TrainingSetup | undefined = s;
    for (const step of steps) next = next && step.apply(next);
    if (!next) continue;
    const e = estimateGpuMemory(m, next);
    if (e.total > room) continue;
    const change = `${steps.map((c) => c.says).join(' and ')} (about ${gib(e.total)} per GPU)`;
    const keep = next.mode !== s.mode ? moreGpus(m, s, gpuMemoryGB) : undefined;
    return keep ? `${change}; or, keeping mode ${s.mode}: ${keep}` : change;
  }
  return moreGpus(m, s, gpuMemoryGB);
}

/** Where a student's model shapes come from. */
export interface ShapeSource {
  shape: ModelShape;
  from: string;
}

function hubCacheDirs(env: NodeJS.ProcessEnv): string[] {
  const home = env.HF_HOME ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'huggingface');
  return [...(env.HF_HUB_CACHE ? [env.HF_HUB_CACHE] : []), path.join(home, 'hub')];
}

async function readShape(file: string): Promise<ModelShape | undefined> {
  try {
    return shapeFromConfigJson(JSON.parse(await fs.readFile(file, 'utf8')));
  } catch {
    return undefined;
  }
}

/**
 * The model shapes of a local student: its `init` settings, the config.json of a model folder or of a
 * hub id in the Hugging Face cache, or else the table of known architectures.
 */
async function studentShape(st: StudentConfig, baseModelDir: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<ShapeSource | undefined> {
  if (st.baseModel === 'init') {
    const { hidden, layers, heads } = st.init;
    // What `fireact_trainer init-model` builds by default: a 1024-entry BPE vocabulary, MLP 4 × hidden.
    return { shape: { hidden, layers, heads, kvHeads: heads, vocab: 1024, intermediate: 4 * hidden, tiedEmbeddings: false }, from: 'init settings' };
  }
  if (baseModelDir) {
    const file = path.join(baseModelDir, 'config.json');
    const shape = await readShape(file);
    return shape && { shape, from: file };
  }
  for (const cache of hubCacheDirs(env)) {
    const snapshots = path.join(cache, `models--${st.baseModel.replace(/\//g, '--')}`, 'snapshots');
    let revisions: string[] = [];
    try {
      revisions = await fs.readdir(snapshots);
    } catch {
      continue;
    }
    for (const rev of revisions) {
      const file = path.join(snapshots, rev, 'config.json');
      const shape = await readShape(file);
      if (shape) return { shape, from: file };
    }
  }
  const known = knownArchitecture(st.baseModel);
  return known && { shape: known, from: known.source };
}

export interface GpuMemoryCheck {
  student: string;
  baseModel: string;
  shapesFrom: string | null;
  setup: string;
  estimate: MemoryEstimate | null;
  gpus: number;
  gpuMemoryGB: number | null;
  fits: boolean | null;
}

/**
 * Estimates each local student's memory per GPU. A student that declares its GPUs' memory and cannot
 * fit gets a problem naming the cheapest change that fits; an estimate that cannot be made is a warning.
 */
export async function checkGpuMemory(
  students: StudentConfig[],
  dirOf: (st: StudentConfig) => string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ checks: GpuMemoryCheck[]; problems: string[]; warnings: string[] }> {
  const checks: GpuMemoryCheck[] = [];
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const st of students) {
    if (isHostedFineTune(st.backend)) continue;
    const cannot = trainerCannotRun(st);
    if (cannot) warnings.push(`${cannot} (the fine-tune stage will refuse it)`);
    const setup = setupOf(st);
    const source = await studentShape(st, dirOf(st), env);
    const declared = st.gpuMemoryGB ?? null;
    if (!source) {
      if (declared !== null) {
        warnings.push(
          `student "${st.name}": cannot estimate GPU memory for "${st.baseModel}" (no config.json found here and not a known architecture); its fit on ${st.gpus} x ${declared} GB is unchecked`,
        );
      }
      checks.push({ student: st.name, baseModel: st.baseModel, shapesFrom: null, setup: describe(setup), estimate: null, gpus: st.gpus, gpuMemoryGB: declared, fits: null });
      continue;
    }
    const estimate = estimateGpuMemory(source.shape, setup);
    const fits = declared === null ? null : estimate.total <= usableBytes(declared);
    checks.push({ student: st.name, baseModel: st.baseModel, shapesFrom: source.from, setup: describe(setup), estimate, gpus: st.gpus, gpuMemoryGB: declared, fits });
    if (fits === false) {
      const parts = `weights ${gib(estimate.weights)}, gradients ${gib(estimate.gradients)}, optimizer ${gib(estimate.optimizer)}, activations ${gib(estimate.activations)}`;
      const change = cheapestFit(source.shape, setup, declared!);
      problems.push(
        `GPU memory: student "${st.name}" (${st.baseModel}, ${(estimate.params / 1e9).toFixed(2)}B parameters; ${describe(setup)}) needs about ${gib(estimate.total)} per GPU (${parts}), ` +
          `but the declared ${st.gpus} x ${declared} GB GPU${st.gpus > 1 ? 's have' : ' has'} ${gib(usableBytes(declared!))} usable${st.gpus > 1 ? ' each' : ''}; ` +
          (change ? `cheapest change that fits: ${change}` : 'no change of mode, sharding, batch or up to 64 GPUs makes it fit'),
      );
    }
  }
  return { checks, problems, warnings };
}
