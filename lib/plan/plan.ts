// Everything an experiment will do, worked out before it spends anything: the frozen question
// samples (the very ones prepareExperiment freezes), episodes and shards, model calls, tokens and
// cost, the datasets to be built, and the problems (missing data, missing secrets) that would stop it.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { generationParallelism, generationPriced, missingKeyEnv, searchKeyEnv, type DatasetMix, type ExperimentConfig, type MethodName, type TaskName } from '../../core/config';
import { isHostedFineTune } from '../../core/names';
import { CHECK_CHARS_PER_TOKEN, OBSERVATION_TOKENS } from '../../core/budget';
import { isSingleTurn } from '../../core/methods';
import { batchDiscount, estimateCost, mergePrices, type PriceFlag, type PriceTable } from '../../core/prices';
import { LOCAL_EVAL_MAX_TOKENS } from '../evaluate/serve';
import type { ClientProvider } from '../experiment/clients';
import { expandPath, looksLikePath, outputFolderProblems, resolveConfigPaths } from '../experiment/config-file';
import { resolveApiKey } from '../models/openai-model';
import { REPLAY_SPLITS } from '../replay/library';
import { getTask } from '../tasks/registry';
import {
  charsToTokens,
  estimateEpisodes,
  MESSAGE_OVERHEAD_TOKENS,
  sumRanges,
  sumTokens,
  trainingExampleTokens,
  type Range,
  type RunEstimate,
  type TokenRange,
} from './estimates';
import { planEvaluation, type EvaluationPlan } from './evaluation';
import { expectedFineTunes, planFineTunes, type PlannedFineTune } from './finetune';
import { checkGpuMemory, GPU_MEMORY_ASSUMPTION, type GpuMemoryCheck } from './gpu-memory';
import { checkEvalOverlap, type GenerationSample } from './leaks';
import { generationReservations, generationShapes } from './reservations';
import { meanFirstPromptTokens, meanQuestionTokens } from './prompt-size';
import { planSample, type PlannedSampleView } from './samples';

export type { TokenRange } from './estimates';
export type { EvaluationPlan, PlannedEvalModel, PlannedEvalRun, PlannedEvalSample } from './evaluation';
export type { PlannedFineTune } from './finetune';
export type { PlannedSampleView } from './samples';

export interface PlanOptions {
  /** Where secrets are looked up (default: this process's environment). */
  env?: NodeJS.ProcessEnv;
  /** Price overrides laid over the defaults (else the config's `prices`, when it has one). */
  prices?: PriceTable;
  /** Base of the config's relative paths (default: the working directory, as prepareExperiment). */
  base?: string;
}

export interface PlannedSample extends PlannedSampleView {
  methods: MethodName[];
}

export interface PlannedRun extends RunEstimate {
  entry: number;
  task: TaskName;
  split: string;
  method: MethodName;
  shards: number;
  /** Tokens of one training conversation from this run, as the chat datasets store it (typical; upper: curation's caps). */
  trainingExampleTokens: Range;
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
  /** Generation mode batch: costUsd is at the batch price; this is what synchronous calls would cost. */
  batch?: { discount: number; syncCostUsd: Range };
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
  /** Generation totals. */
  totals: { questions: number; episodes: number; shards: number; calls: Range; searches: Range; tokens: TokenRange; costUsd: Range };
  /** One job per (student, dataset mix), in the order the fine-tune stage runs them. */
  fineTune: PlannedFineTune[];
  /** GPU memory per device of each local student's training run. */
  gpuMemory: GpuMemoryCheck[];
  /** Null when the config has no `evaluate` section. */
  evaluation: EvaluationPlan | null;
  /** What the whole experiment costs, stage by stage; `unpriced` names what no price covers. */
  cost: { generate: Range; fineTune: Range; evaluate: Range; total: Range; unpriced: string[] };
  /**
   * What a budget reserves (model calls of generation and evaluation; fine-tuning is not metered):
   * per episode of each run (`runs[].reservation`), and for all of them at once, which is the upper
   * figure of those stages: a cap that large funds every episode from the start.
   */
  budget: { cap: { usd?: number; tokens?: number } | null; reservesUsd: number; reservesTokens: number };
  /** Environment variables that must be set (on the worker) and are not set here. */
  missingSecrets: string[];
  assumptions: string[];
  /** What would make the experiment fail or waste its spend; the CLI exits 1 when there is any. */
  problems: string[];
  /** The problems that depend on this machine's environment (missing secrets): `start` leaves them to the worker. */
  environmentProblems: string[];
  warnings: string[];
}

async function fileExists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

// The path rules of config files, for the callers that import them from here.
export { expandPath, looksLikePath } from '../experiment/config-file';

export async function planExperiment(rawConfig: ExperimentConfig, clients: ClientProvider, options: PlanOptions = {}): Promise<ExperimentPlan> {
  const env = options.env ?? process.env;
  const base = options.base ?? process.cwd();
  const config = resolveConfigPaths(rawConfig, base);
  const prices = mergePrices(options.prices ?? config.prices);
  const gen = config.generate;
  const limits = { maxSteps: gen.maxSteps, reflexion: gen.reflexion };
  const teacherName = gen.teacher;
  const teacher = config.models[teacherName];
  const priced = generationPriced(config);
  const problems: string[] = [];
  const warnings: string[] = [];
  const missingSecrets = new Set<string>();
  const environmentProblems: string[] = [];
  const secretProblem = (message: string) => {
    problems.push(message);
    environmentProblems.push(message);
  };

  // Secrets: every openai model, as prepareExperiment checks them; search only if a task searches.
  for (const [name, mc] of Object.entries(config.models)) {
    if (mc.provider !== 'openai') continue;
    try {
      resolveApiKey(mc, env);
    } catch {
      if (mc.apiKeyEnv) {
        missingSecrets.add(mc.apiKeyEnv);
        secretProblem(`missing secret: model "${name}" needs the environment variable ${mc.apiKeyEnv}, which is not set here (the worker needs it too)`);
      } else {
        problems.push(`model "${name}" has neither apiKeyEnv nor a baseUrl of a keyless endpoint`);
      }
    }
  }

  // Students: a hosted backend's key as prepareExperiment checks it; a local base model given as a path must exist.
  for (const st of config.students) {
    const missing = isHostedFineTune(st.backend) ? missingKeyEnv(st, env) : undefined;
    if (missing) {
      missingSecrets.add(missing);
      secretProblem(`missing secret: student "${st.name}" needs the environment variable ${missing}, which is not set here (the worker needs it too)`);
    }
    if (!isHostedFineTune(st.backend) && st.baseModel !== 'init') {
      if (looksLikePath(st.baseModel)) {
        const dir = expandPath(st.baseModel, base);
        if (!(await fileExists(dir))) problems.push(`missing model: student "${st.name}" has baseModel "${st.baseModel}", and ${dir} does not exist`);
      } else {
        warnings.push(`student "${st.name}": baseModel "${st.baseModel}" is not a path, so the GPU worker loads it as a hub id; it must already be there (e.g. in its Hugging Face cache)`);
      }
    }
  }

  const gpu = await checkGpuMemory(config.students, (st) => (looksLikePath(st.baseModel) ? expandPath(st.baseModel, base) : undefined), env);
  problems.push(...gpu.problems);
  warnings.push(...gpu.warnings);

  problems.push(...(await outputFolderProblems(config)));

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

  // Curation drops any trajectory longer than these, which bounds a training conversation.
  const curatedCap = (turns: number) => charsToTokens(config.curate.maxChars) + (Math.min(turns, config.curate.maxTurns) + 1) * MESSAGE_OVERHEAD_TOKENS;

  const samples: PlannedSample[] = [];
  const runs: PlannedRun[] = [];
  const generation: GenerationSample[] = [];
  for (const [entry, gt] of gen.tasks.entries()) {
    const planned = await planSample(clients, config, gt, 'generate.tasks', entry);
    samples.push({ ...planned.view, methods: gt.methods });
    if (planned.problem) problems.push(planned.problem);
    else generation.push({ entry, task: gt.task, split: gt.split, methods: gt.methods, questions: planned.questions });
  }
  // The budget reserves these per episode (prepareExperiment computes them the same way); they are the upper figures.
  const shapes = generationShapes(config, generation);
  const reservations = generationReservations(config, generation, prices);
  for (const { entry, questions: chosen } of generation) {
    const gt = gen.tasks[entry];
    if (teacher.provider === 'replay' && !REPLAY_SPLITS.includes(gt.split)) {
      warnings.push(`generate.tasks.${entry}: the replayed teacher only knows recorded questions; split "${gt.split}" is not a fireact split`);
    }
    const usesSearch = getTask(gt.task).usesSearch;
    const questionTokens = meanQuestionTokens(chosen);
    for (const method of gt.methods) {
      const episodes = chosen.length;
      const est = estimateEpisodes({ task: gt.task, method, episodes, limits, usesSearch, maxTokens: teacher.maxTokens, firstPromptTokens: meanFirstPromptTokens(method, chosen, gen.fewShot), shape: shapes[method] });
      const { callsPerEpisode: perEpisode, completionTokensPerCall: completion, tokens } = est;
      const example: Range = {
        typical: trainingExampleTokens(gt.task, method, questionTokens, perEpisode.typical, completion.typical),
        upper: Math.min(trainingExampleTokens(gt.task, method, questionTokens, perEpisode.upper, completion.upper), curatedCap(2 * perEpisode.upper - 1)),
      };
      const run: PlannedRun = {
        entry,
        task: gt.task,
        split: gt.split,
        method,
        shards: Math.ceil(episodes / gen.shardSize),
        ...est,
        costUsd: {
          typical: estimateCost(priced, { promptTokens: tokens.typical.prompt, completionTokens: tokens.typical.completion }, prices).usd,
          upper: episodes * reservations[method].usd,
        },
        reservation: reservations[method],
        trainingExampleTokens: example,
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
  const price = estimateCost(priced, { promptTokens: 0, completionTokens: 0 }, prices);
  const costUsd = sumRanges(runs.map((r) => r.costUsd));
  const discount = priced.batch ? batchDiscount(priced.provider) : undefined;
  const models: PlannedModel[] = [
    {
      name: teacherName,
      provider: teacher.provider,
      model: teacher.model,
      role: 'teacher',
      calls,
      tokens,
      costUsd,
      // Prices are linear in tokens, so the synchronous figure is the batch one undiscounted.
      ...(discount ? { batch: { discount, syncCostUsd: { typical: costUsd.typical / discount, upper: costUsd.upper / discount } } } : {}),
      priceKey: price.priceKey,
      flags: price.flags,
    },
  ];
  if (price.flags.includes('unpriced')) {
    const why = teacher.provider === 'replay' ? 'a replay of recorded turns (no spend)' : `no price known for "${teacher.model}" (add one under prices)`;
    warnings.push(`teacher "${teacherName}" is unpriced: ${why}`);
  }

  await checkEvalOverlap(config, clients, generation, { problems, warnings });

  const mixRuns = (mix: DatasetMix) => runs.filter((r) => mix.tasks.includes(r.task) && mix.methods.includes(r.method));
  // Why a mix would come out empty (a student trained on it would find no example), or undefined.
  const emptyMix = new Map<string, string>();
  const datasets = config.datasets.map((mix: DatasetMix): PlannedDataset => {
    const from = mixRuns(mix);
    const episodes = from.reduce((s, r) => s + r.episodes, 0);
    // From the config's entries, not the planned runs: an entry whose data is missing is a problem of its own.
    if (!gen.tasks.some((t) => mix.tasks.includes(t.task) && t.methods.some((m) => mix.methods.includes(m)))) {
      emptyMix.set(mix.name, `no generation entry has one of its tasks (${mix.tasks.join(', ')}) with one of its methods (${mix.methods.join(', ')})`);
    } else if (library && from.length && from.every((r) => r.recorded === 0)) {
      emptyMix.set(mix.name, `the replayed teacher has a recording for none of its ${episodes} episodes`);
    }
    const why = emptyMix.get(mix.name);
    if (why) problems.push(`dataset "${mix.name}" would be empty: ${why}`);
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
  for (const st of config.students) {
    for (const d of st.datasets) if (emptyMix.has(d)) problems.push(`student "${st.name}" would train on dataset "${d}", which would be empty: its fine-tuning would find no example`);
  }

  const fineTune = planFineTunes({
    config,
    prices,
    sources: (name) => mixRuns(config.datasets.find((d) => d.name === name)!),
    warnings,
  });
  const evaluation = await planEvaluation({ config, clients, prices, expected: expectedFineTunes(config), problems, warnings });

  const searches =
    gen.tasks.some((t) => getTask(t.task).usesSearch && t.methods.some((m) => !isSingleTurn(m))) ||
    (evaluation?.runs.some((r) => r.searchesPerEpisode.upper > 0) ?? false);
  if (searches && config.search.backend === 'serpapi') {
    const keyEnv = searchKeyEnv(config.search);
    if (!env[keyEnv]?.trim()) {
      missingSecrets.add(keyEnv);
      secretProblem(`missing secret: search backend serpapi needs the environment variable ${keyEnv}, which is not set here (the worker needs it too)`);
    }
  }

  // A cap below one episode's reservation pauses the experiment before that episode can start.
  const metered = [...runs.map((r) => ({ what: `${r.method} generation episode`, r })), ...(evaluation?.runs ?? []).map((r) => ({ what: `${r.target} ${r.method} evaluation episode`, r }))];
  const reservesUsd = metered.reduce((s, m) => s + m.r.episodes * m.r.reservation.usd, 0);
  const reservesTokens = metered.reduce((s, m) => s + m.r.episodes * m.r.reservation.tokens, 0);
  const cap = config.budget ? { usd: config.budget.usd, tokens: config.budget.tokens } : null;
  const largest = (key: 'usd' | 'tokens') => metered.reduce<(typeof metered)[number] | undefined>((a, m) => (!a || m.r.reservation[key] > a.r.reservation[key] ? m : a), undefined);
  const usdMax = largest('usd');
  if (cap?.usd !== undefined && usdMax && usdMax.r.reservation.usd > cap.usd) {
    problems.push(`budget.usd $${cap.usd} is less than what one ${usdMax.what} reserves ($${usdMax.r.reservation.usd.toFixed(4)}): the experiment would pause before it; plan's upper bound for the metered stages is $${reservesUsd.toFixed(2)}`);
  }
  const tokMax = largest('tokens');
  if (cap?.tokens !== undefined && tokMax && tokMax.r.reservation.tokens > cap.tokens) {
    problems.push(`budget.tokens ${cap.tokens} is less than what one ${tokMax.what} reserves (${tokMax.r.reservation.tokens} tokens): the experiment would pause before it`);
  }

  const fineTuneCost = sumRanges(fineTune.map((f) => f.costUsd));
  const evaluateCost = evaluation?.totals.costUsd ?? { typical: 0, upper: 0 };
  const unpriced = [
    ...(price.flags.includes('unpriced') ? [`generation by teacher "${teacherName}" (${teacher.provider === 'replay' ? 'replay' : teacher.model})`] : []),
    ...fineTune.filter((f) => f.flags.includes('unpriced')).map((f) => `fine-tuning ${f.student} on ${f.dataset} (${f.hardware === 'own' ? 'own hardware' : `no training price for ${f.baseModel}`})`),
    ...(evaluation?.models ?? []).filter((m) => m.flags.includes('unpriced')).map((m) => `evaluation of ${m.name} (${m.provider === 'local' ? 'own hardware' : m.provider === 'replay' ? 'replay' : `no price for ${m.model}`})`),
  ];

  const parallel = generationParallelism(config);
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
      maxParallelShards: parallel.maxParallelShards,
      episodeConcurrency: parallel.episodeConcurrency,
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
    fineTune,
    gpuMemory: gpu.checks,
    evaluation,
    cost: { generate: costUsd, fineTune: fineTuneCost, evaluate: evaluateCost, total: sumRanges([costUsd, fineTuneCost, evaluateCost]), unpriced },
    budget: { cap, reservesUsd, reservesTokens },
    missingSecrets: [...missingSecrets].sort(),
    assumptions: [
      'tokens ≈ characters / 4, plus 4 per chat message',
      "first prompt = the real system prompt with its worked examples and each sampled question; each step adds a turn and its observation of the recordings' mean length",
      'typical steps and turn lengths: means of the FireAct GPT-4 recordings (successful trajectories, so real runs with failures take more)',
      `upper = what the budget reserves: every episode runs to its step cap (react ${gen.maxSteps}, reflexion ${gen.reflexion.maxTrials}×${gen.reflexion.stepsPerTrial}) plus a forced finish, every reply ${teacher.maxTokens} tokens, every observation ${OBSERVATION_TOKENS} tokens, the longest first prompt of the sample counted as characters / ${CHECK_CHARS_PER_TOKEN}; re-asks after malformed replies (up to ${gen.maxMalformedRetries} per step) come on top (an episode that needs them outgrows its reservation and runs again with twice as much)`,
      'cache hits (a re-run, or questions already answered) are not subtracted',
      'prices are list prices that change; override them with `prices` in the config',
      ...(fineTune.length
        ? [
            'fine-tuning examples are an upper bound: every generated episode of the mix reaches it (curation drops failures, duplicates and eval questions); a training conversation is the question and the recorded mean turns, at most curation\'s maxChars (local: maxLen tokens)',
            'OpenAI epochs: nEpochs, else "auto" as OpenAI\'s data-preparation guide describes it (3, more for under 34 examples, fewer past 8,333), computed at the upper-bound example count',
          ]
        : []),
      ...(gpu.checks.length ? [GPU_MEMORY_ASSUMPTION] : []),
      ...(evaluation
        ? [
            `evaluation: students answer zero-shot (the question alone), baselines few-shot; steps capped at evaluate.maxSteps ${evaluation.maxSteps}; served local models reply with at most ${LOCAL_EVAL_MAX_TOKENS} tokens; a fine-tuned OpenAI model is priced as ft:<base>`,
          ]
        : []),
    ],
    problems,
    environmentProblems,
    warnings,
  };
}
