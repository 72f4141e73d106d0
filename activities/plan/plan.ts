// Everything an experiment will do, worked out before it spends anything: the frozen question
// samples (the very ones prepareExperiment freezes), episodes and shards, model calls, tokens and
// cost, the datasets to be built, and the problems (missing data, missing secrets) that would stop it.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { DatasetMix, ExperimentConfig, MethodName, TaskName } from '../../core/config';
import { ErrorType } from '../../core/errors';
import type { Question } from '../../core/trajectory';
import { promptMessages } from '../agent/prompts';
import type { ClientProvider } from '../experiment/clients';
import { resolveConfigPaths } from '../experiment/config-file';
import { freezeSample } from '../experiment/sample';
import { resolveApiKey } from '../models/openai-model';
import { REPLAY_SPLITS } from '../replay/library';
import { getTask } from '../tasks/registry';
import type { SampleOrder } from '../tasks/sampling';
import {
  MESSAGE_OVERHEAD_TOKENS,
  callsPerEpisode,
  charsToTokens,
  completionTokensPerCall,
  promptGrowthPerStep,
  promptTokensOverCalls,
  searchesPerEpisode,
  type Range,
} from './estimates';
import { estimateCost, mergePrices, type PriceFlag, type PriceTable } from '../../core/prices';

export interface PlanOptions {
  /** Where secrets are looked up (default: this process's environment). */
  env?: NodeJS.ProcessEnv;
  /** Price overrides laid over the defaults (else the config's `prices`, when it has one). */
  prices?: PriceTable;
  /** Base of the config's relative paths (default: the working directory, as prepareExperiment). */
  base?: string;
}

export interface PlannedSample {
  /** Index in generate.tasks. */
  entry: number;
  task: TaskName;
  split: string;
  methods: MethodName[];
  order: SampleOrder;
  seed: number;
  /** Questions in the split; null when it could not be loaded. */
  splitSize: number | null;
  /** Questions chosen (0 when the split could not be loaded or sampled). */
  n: number;
  /** Positions in the split, in sample order. */
  indices: number[];
  ids: string[];
  error?: string;
}

export interface TokenRange {
  typical: { prompt: number; completion: number };
  upper: { prompt: number; completion: number };
}

export interface PlannedRun {
  entry: number;
  task: TaskName;
  split: string;
  method: MethodName;
  episodes: number;
  shards: number;
  callsPerEpisode: Range;
  searchesPerEpisode: Range;
  /** Mean prompt tokens of an episode's first call over the sampled questions (system prompt, examples, question). */
  firstPromptTokens: number;
  completionTokensPerCall: Range;
  /** Prompt tokens each step adds to the next call (typical; upper uses maxTokens replies). */
  promptGrowthPerStep: Range;
  calls: Range;
  searches: Range;
  tokens: TokenRange;
  costUsd: Range;
  /** Replayed teacher only: sampled questions with a recording of this method. */
  recorded?: number;
}

export interface PlannedModel {
  name: string;
  provider: string;
  model: string;
  role: 'teacher';
  calls: Range;
  tokens: TokenRange;
  costUsd: Range;
  priceKey?: string;
  flags: PriceFlag[];
}

export interface PlannedDataset {
  name: string;
  tasks: TaskName[];
  methods: MethodName[];
  formats: string[];
  maxRecords?: number;
  /** Episodes the mix draws from (before curation). */
  episodes: number;
  /** No more records than this can reach the mix. */
  recordsAtMost: number;
}

export interface ExperimentPlan {
  experiment: string;
  dataDir: string;
  teacher: { name: string; provider: string; model: string; replay: boolean };
  generate: {
    maxSteps: number;
    reflexion: { maxTrials: number; stepsPerTrial: number };
    maxMalformedRetries: number;
    fewShot: number;
    shardSize: number;
    maxParallelShards: number;
    episodeConcurrency: number;
  };
  search: { backend: string; fallback: string };
  samples: PlannedSample[];
  runs: PlannedRun[];
  models: PlannedModel[];
  datasets: PlannedDataset[];
  totals: { questions: number; episodes: number; shards: number; calls: Range; searches: Range; tokens: TokenRange; costUsd: Range };
  /** Environment variables that must be set (on the worker) and are not set here. */
  missingSecrets: string[];
  assumptions: string[];
  /** What would make the experiment fail; the CLI exits 1 when there is any. */
  problems: string[];
  warnings: string[];
}

function sumRanges(rs: readonly Range[]): Range {
  return { typical: rs.reduce((s, r) => s + r.typical, 0), upper: rs.reduce((s, r) => s + r.upper, 0) };
}

function sumTokens(ts: readonly TokenRange[]): TokenRange {
  const out: TokenRange = { typical: { prompt: 0, completion: 0 }, upper: { prompt: 0, completion: 0 } };
  for (const t of ts) {
    out.typical.prompt += t.typical.prompt;
    out.typical.completion += t.typical.completion;
    out.upper.prompt += t.upper.prompt;
    out.upper.completion += t.upper.completion;
  }
  return out;
}

/** Mean tokens of the first request of an episode: the real prompt rendered for each sampled question. */
function meanFirstPromptTokens(method: MethodName, questions: readonly Question[], fewShot: number): number {
  if (questions.length === 0) return 0;
  let total = 0;
  for (const q of questions) {
    const messages = promptMessages(method, q, [], fewShot);
    total += messages.reduce((s, m) => s + charsToTokens(m.content.length) + MESSAGE_OVERHEAD_TOKENS, 0);
  }
  return Math.round(total / questions.length);
}

async function fileExists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}


export async function planExperiment(rawConfig: ExperimentConfig, clients: ClientProvider, options: PlanOptions = {}): Promise<ExperimentPlan> {
  const env = options.env ?? process.env;
  const config = resolveConfigPaths(rawConfig, options.base);
  const prices = mergePrices(options.prices ?? config.prices);
  const gen = config.generate;
  const limits = { maxSteps: gen.maxSteps, reflexion: gen.reflexion };
  const teacherName = gen.teacher;
  const teacher = config.models[teacherName];
  const problems: string[] = [];
  const warnings: string[] = [];
  const missingSecrets = new Set<string>();

  // Secrets: every openai model, as prepareExperiment checks them; search only if a task searches.
  for (const [name, mc] of Object.entries(config.models)) {
    if (mc.provider !== 'openai') continue;
    try {
      resolveApiKey(mc, env);
    } catch {
      if (mc.apiKeyEnv) {
        missingSecrets.add(mc.apiKeyEnv);
        problems.push(`missing secret: model "${name}" needs the environment variable ${mc.apiKeyEnv}, which is not set here (the worker needs it too)`);
      } else {
        problems.push(`model "${name}" has neither apiKeyEnv nor a baseUrl of a keyless endpoint`);
      }
    }
  }
  const searches = gen.tasks.some((t) => getTask(t.task).usesSearch && t.methods.some((m) => m === 'react' || m === 'reflexion'));
  if (searches && config.search.backend === 'serpapi') {
    const keyEnv = config.search.apiKeyEnv ?? 'SERPAPI_API_KEY';
    if (!env[keyEnv]?.trim()) {
      missingSecrets.add(keyEnv);
      problems.push(`missing secret: search backend serpapi needs the environment variable ${keyEnv}, which is not set here (the worker needs it too)`);
    }
  }

  // Data files the teacher and search read besides the splits.
  const chatDir = path.join(config.dataDir, 'finetune', 'gpt_format');
  const replayFiles = new Set<string>();
  if (teacher.provider === 'replay') for (const f of teacher.replayFiles ?? []) replayFiles.add(f);
  if (config.search.backend === 'replay') for (const f of config.search.replayFiles ?? []) replayFiles.add(f);
  for (const f of replayFiles) {
    const file = path.join(chatDir, `${f}.jsonl`);
    if (!(await fileExists(file))) problems.push(`missing data: replay file "${f}" (${file})`);
  }
  if (config.search.corpus && ['local', 'replay'].includes(config.search.backend) && !(await fileExists(config.search.corpus))) {
    problems.push(`missing data: search corpus ${config.search.corpus}`);
  }

  let library: Awaited<ReturnType<ClientProvider['replayLibrary']>> | undefined;
  if (teacher.provider === 'replay') {
    try {
      library = await clients.replayLibrary(config, teacher.replayFiles);
    } catch (err) {
      problems.push(`teacher "${teacherName}": cannot load its recordings: ${(err as Error).message}`);
    }
  }

  const samples: PlannedSample[] = [];
  const runs: PlannedRun[] = [];
  for (const [entry, gt] of gen.tasks.entries()) {
    const seed = gt.sample.seed ?? config.seed;
    const base = { entry, task: gt.task, split: gt.split, methods: gt.methods, order: gt.sample.order, seed };
    let chosen: Question[];
    try {
      const frozen = await freezeSample(clients, config, gt, `generate.tasks.${entry}`);
      chosen = frozen.file.questions;
      samples.push({ ...base, splitSize: frozen.file.splitSize, n: chosen.length, indices: frozen.indices, ids: chosen.map((q) => q.id) });
    } catch (err) {
      const message = (err as Error).message;
      const where = `generate.tasks.${entry} (${gt.task} ${gt.split})`;
      const kind = err instanceof ApplicationFailure && err.type === ErrorType.MissingData ? 'missing data: ' : '';
      problems.push(kind + (message.startsWith('generate.tasks.') ? message : `${where}: ${message}`));
      samples.push({ ...base, splitSize: null, n: 0, indices: [], ids: [], error: message });
      continue;
    }
    if (teacher.provider === 'replay' && !REPLAY_SPLITS.includes(gt.split)) {
      warnings.push(`generate.tasks.${entry}: the replayed teacher only knows recorded questions; split "${gt.split}" is not a fireact split`);
    }
    const usesSearch = getTask(gt.task).usesSearch;
    for (const method of gt.methods) {
      const episodes = chosen.length;
      const perEpisode = callsPerEpisode(gt.task, method, limits);
      const searchPer = searchesPerEpisode(gt.task, method, limits, usesSearch);
      const completion = completionTokensPerCall(gt.task, method, teacher.maxTokens);
      const growth: Range = { typical: promptGrowthPerStep(gt.task, completion.typical), upper: promptGrowthPerStep(gt.task, completion.upper) };
      const first = meanFirstPromptTokens(method, chosen, gen.fewShot);
      const tokens: TokenRange = {
        typical: {
          prompt: Math.round(episodes * promptTokensOverCalls(perEpisode.typical, first, growth.typical)),
          completion: episodes * perEpisode.typical * completion.typical,
        },
        upper: {
          prompt: Math.round(episodes * promptTokensOverCalls(perEpisode.upper, first, growth.upper)),
          completion: episodes * perEpisode.upper * completion.upper,
        },
      };
      const run: PlannedRun = {
        entry,
        task: gt.task,
        split: gt.split,
        method,
        episodes,
        shards: Math.ceil(episodes / gen.shardSize),
        callsPerEpisode: perEpisode,
        searchesPerEpisode: searchPer,
        firstPromptTokens: first,
        completionTokensPerCall: completion,
        promptGrowthPerStep: growth,
        calls: { typical: episodes * perEpisode.typical, upper: episodes * perEpisode.upper },
        searches: { typical: episodes * searchPer.typical, upper: episodes * searchPer.upper },
        tokens,
        costUsd: {
          typical: estimateCost(teacher, { promptTokens: tokens.typical.prompt, completionTokens: tokens.typical.completion }, prices).usd,
          upper: estimateCost(teacher, { promptTokens: tokens.upper.prompt, completionTokens: tokens.upper.completion }, prices).usd,
        },
      };
      if (library) {
        const lib = library;
        run.recorded = chosen.filter((q) => lib.find(gt.task, method, q.text) !== undefined).length;
        if (run.recorded < episodes) {
          warnings.push(
            `${gt.task} ${gt.split} ${method}: ${episodes - run.recorded} of ${episodes} questions have no recorded ${method} trajectory; the replayed teacher leaves them unfinished`,
          );
        }
      }
      runs.push(run);
    }
  }

  const calls = sumRanges(runs.map((r) => r.calls));
  const tokens = sumTokens(runs.map((r) => r.tokens));
  const price = estimateCost(teacher, { promptTokens: 0, completionTokens: 0 }, prices);
  const costUsd = sumRanges(runs.map((r) => r.costUsd));
  const models: PlannedModel[] = [
    { name: teacherName, provider: teacher.provider, model: teacher.model, role: 'teacher', calls, tokens, costUsd, priceKey: price.priceKey, flags: price.flags },
  ];
  if (price.flags.includes('unpriced')) {
    const why = teacher.provider === 'replay' ? 'a replay of recorded turns (no spend)' : `no price known for "${teacher.model}" (add one under prices)`;
    warnings.push(`teacher "${teacherName}" is unpriced: ${why}`);
  }

  const datasets = config.datasets.map((mix: DatasetMix): PlannedDataset => {
    const episodes = runs.filter((r) => mix.tasks.includes(r.task) && mix.methods.includes(r.method)).reduce((s, r) => s + r.episodes, 0);
    if (episodes === 0) warnings.push(`dataset "${mix.name}": no generated episode matches its tasks and methods, so it will be empty`);
    return {
      name: mix.name,
      tasks: mix.tasks,
      methods: mix.methods,
      formats: mix.formats,
      ...(mix.maxRecords !== undefined ? { maxRecords: mix.maxRecords } : {}),
      episodes,
      recordsAtMost: Math.min(episodes, mix.maxRecords ?? Infinity),
    };
  });

  return {
    experiment: config.name,
    dataDir: config.dataDir,
    teacher: { name: teacherName, provider: teacher.provider, model: teacher.model, replay: teacher.provider === 'replay' },
    generate: {
      maxSteps: gen.maxSteps,
      reflexion: gen.reflexion,
      maxMalformedRetries: gen.maxMalformedRetries,
      fewShot: gen.fewShot,
      shardSize: gen.shardSize,
      maxParallelShards: gen.maxParallelShards,
      episodeConcurrency: gen.episodeConcurrency,
    },
    search: { backend: config.search.backend, fallback: config.search.fallback },
    samples,
    runs,
    models,
    datasets,
    totals: {
      questions: samples.reduce((s, x) => s + x.n, 0),
      episodes: runs.reduce((s, r) => s + r.episodes, 0),
      shards: runs.reduce((s, r) => s + r.shards, 0),
      calls,
      searches: sumRanges(runs.map((r) => r.searches)),
      tokens,
      costUsd,
    },
    missingSecrets: [...missingSecrets].sort(),
    assumptions: [
      'tokens ≈ characters / 4, plus 4 per chat message',
      "first prompt = the real system prompt with its worked examples and each sampled question; each step adds a turn and its observation of the recordings' mean length",
      'typical steps and turn lengths: means of the FireAct GPT-4 recordings (successful trajectories, so real runs with failures take more)',
      `upper: every episode runs to its step cap (react ${gen.maxSteps}, reflexion ${gen.reflexion.maxTrials}×${gen.reflexion.stepsPerTrial}) plus a forced finish, every reply ${teacher.maxTokens} tokens; re-asks after malformed replies (up to ${gen.maxMalformedRetries} per step) come on top`,
      'cache hits (a re-run, or questions already answered) are not subtracted',
      'prices are list prices that change; override them with `prices` in the config',
    ],
    problems,
    warnings,
  };
}
