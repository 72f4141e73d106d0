// The activity factory: everything that touches the world, built from the clients it is given.
// Workflows type their proxies from `Activities` so a renamed activity breaks the build, not a run.
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ArtifactRef } from '../core/artifacts';
import { generationParallelism, parseExperimentConfig, scoringRuleFor, type ExperimentConfig, type MethodName, type StudentConfig, type TaskName } from '../core/config';
import { ErrorType } from '../core/errors';
import { experimentIdProblem } from '../core/ids';
import { addUsage, emptyUsage, TRAJECTORY_SCHEMA, trajectoryId, type Question, type TrajectoryRecord, type Usage } from '../core/trajectory';
import { runEpisode as runAgentEpisode } from '../lib/agent/episode';
import type { ArtifactStore } from '../lib/artifacts/store';
import { curateTrajectories } from '../lib/curate/curate';
import { loadEvalQuestions } from '../lib/curate/eval-questions';
import { buildDatasetMix } from '../lib/datasets/build';
import { createClientProvider, type ClientProvider } from '../lib/experiment/clients';
import { resolveConfigPaths } from '../lib/experiment/config-file';
import { createFrozenState, type ExperimentHandle } from '../lib/experiment/frozen';
import { startHeartbeat } from './heartbeat';
import { experimentDir, layout } from '../lib/experiment/layout';
import { findTrajectory } from '../lib/experiment/trajectories';
import { freezeSample } from '../lib/experiment/sample';
import { getTask } from '../lib/tasks/registry';
import { resolveApiKey } from '../lib/models/openai-model';
import { createEvaluateActivities } from './evaluate';
import { createLocalFineTuneActivities } from './finetune-local';
import { createTrainerPythonResolver } from '../lib/finetune/local/trainer-process';
import { createOpenAIFineTuneActivities } from './finetune-openai';
export type { EvalInput, EvalOutcome, EvalTarget } from './evaluate';
import { writeReport, type ReportRefs } from '../lib/report/write-report';
import { studentModelName } from '../core/eval-plan';
import { comparePaper } from '../lib/report/paper';
import type { ReportInput, SpendRow } from '../lib/report/types';
export type { EvalRow, ReportInput } from '../lib/report/types';
import { estimateCost, mergePrices } from '../core/prices';
import { episodeReservation, fits, maxEpisodeCalls, ZERO, type Amount, type Cap, type BudgetPlan } from '../core/budget';
import { evalPromptBounds, firstPromptBound, generationReservations } from '../lib/plan/reservations';
import { budgetExhausted, meterModel } from '../lib/budget/metered-model';

export type { ExperimentHandle };

export interface ShardPlan {
  task: TaskName;
  split: string;
  method: MethodName;
  shard: number;
  samplePath: string;
  start: number;
  end: number;
}

export interface PrepareResult {
  handle: ExperimentHandle;
  shards: ShardPlan[];
  samples: ArtifactRef[];
  questions: number;
  episodes: number;
  replayedTeacher: boolean;
  /** Replay only: records of the FireAct files that could not be replayed, counted by reason. */
  replaySkipped: Record<string, number>;
  concurrency: { shards: number; episodes: number };
  continueAsNewAfterEvents: number;
  teacher: { name: string; model: string; provider: string };
  /** What follows the datasets: students to fine-tune and the frozen evaluation plan. */
  students: StudentConfig[];
  evaluation: {
    samples: Array<{ task: TaskName; split: string; samplePath: string; n: number }>;
    baselines: Array<{ model: string; methods: MethodName[]; kind: 'teacher' | 'base' }>;
    baseModels: boolean;
    toolNoise: Array<'none' | 'empty' | 'random'>;
    maxParallel: number;
  } | null;
  name: string;
  description?: string;
  /** Set when the config has a budget: caps, prices and reservations (replay and local models reserve nothing). */
  budget?: BudgetPlan | null;
}

export interface EpisodeInput {
  handle: ExperimentHandle;
  task: TaskName;
  method: MethodName;
  samplePath: string;
  index: number;
  /** What this episode may spend, reserved for it by the workflow's ledger; absent = unlimited. */
  allowance?: Cap;
}

export interface EpisodeSummary {
  id: string;
  reward: number | null;
  finished: boolean;
  steps: number;
  calls: number;
  cachedCalls: number;
  /** True when the trajectory was already in the store (a retried or re-run activity). */
  reused: boolean;
  /** What this run of the episode paid (calls the cache answered cost nothing); set when an allowance was given. */
  paid?: Amount;
}

export interface CurateResult {
  /** What generation spent, summed over every trajectory. */
  usage: Usage;
  curated: ArtifactRef;
  dropped: ArtifactRef;
  report: ArtifactRef;
  total: number;
  kept: number;
  drops: Record<string, number>;
}

export interface DatasetResult {
  name: string;
  records: number;
  byTask: Record<string, number>;
  byMethod: Record<string, number>;
  files: Partial<Record<'openai' | 'alpaca', ArtifactRef>>;
}

export interface ActivityDeps {
  clients?: ClientProvider;
  env?: NodeJS.ProcessEnv;
  /** The trainer's python (default: scripts/setup-trainer.sh makes or finds its environment). */
  python?: () => Promise<string>;
}

export function createActivities(deps: ActivityDeps = {}) {
  const env = deps.env ?? process.env;
  const clients = deps.clients ?? createClientProvider(env);
  const frozen = createFrozenState(clients);
  const frozenConfig = frozen.config;
  const sample = frozen.sample;

  const experiment = {
    /** Validates the config, checks data and secrets, freezes the question sample and plans the shards. */
    async prepareExperiment(input: { experiment: string; config: unknown }): Promise<PrepareResult> {
      // The id names the artifact folder: refuse one that cannot, before anything is written or spent.
      const idProblem = experimentIdProblem(input.experiment);
      if (idProblem) throw ApplicationFailure.create({ type: ErrorType.InvalidExperimentId, message: idProblem, nonRetryable: true });
      let config: ExperimentConfig;
      try {
        config = resolveConfigPaths(parseExperimentConfig(input.config));
      } catch (err) {
        throw ApplicationFailure.create({ type: ErrorType.InvalidConfig, message: (err as Error).message, nonRetryable: true });
      }
      // Secrets are checked before anything is spent; only the variable's name is ever reported.
      for (const [name, mc] of Object.entries(config.models)) {
        if (mc.provider === 'openai') {
          try {
            resolveApiKey(mc, env);
          } catch (err) {
            throw ApplicationFailure.create({ type: ErrorType.MissingSecret, message: `model "${name}": ${(err as Error).message}`, nonRetryable: true });
          }
        }
      }
      for (const st of config.students) {
        if (st.backend === 'openai' && st.apiKeyEnv && !env[st.apiKeyEnv]?.trim()) {
          throw ApplicationFailure.create({
            type: ErrorType.MissingSecret,
            message: `student "${st.name}": the environment variable ${st.apiKeyEnv} is not set on the worker`,
            nonRetryable: true,
          });
        }
      }
      const store = clients.store(config);
      const exp = input.experiment;
      const twin = await caseTwin(store, experimentDir(exp));
      if (twin) {
        throw ApplicationFailure.create({
          type: ErrorType.InvalidExperimentId,
          message: `experiment id "${exp}" differs only in case from the folder of experiment "${twin}" in ${config.artifactDir}; on a case-insensitive file system they would share it, so pick another id`,
          nonRetryable: true,
        });
      }
      const frozenRef = await store.writeJson(layout.config(exp), config);
      const shards: ShardPlan[] = [];
      const refs: ArtifactRef[] = [];
      const genSamples: Array<{ methods: MethodName[]; questions: Question[] }> = [];
      const evalQuestionSamples: Question[][] = [];
      let questions = 0;
      let episodes = 0;
      for (const [i, gt] of config.generate.tasks.entries()) {
        const { file } = await freezeSample(clients, config, gt, `generate.tasks.${i}`);
        const chosen = file.questions;
        genSamples.push({ methods: gt.methods, questions: chosen });
        const rel = layout.sample(exp, gt.task, gt.split);
        refs.push(await store.writeJson(rel, file));
        questions += chosen.length;
        for (const method of gt.methods) {
          for (let start = 0, shard = 0; start < chosen.length; start += config.generate.shardSize, shard++) {
            const end = Math.min(chosen.length, start + config.generate.shardSize);
            shards.push({ task: gt.task, split: gt.split, method, shard, samplePath: rel, start, end });
            episodes += end - start;
          }
        }
      }
      const teacher = config.models[config.generate.teacher];
      const replaySkipped: Record<string, number> = {};
      if (teacher.provider === 'replay') {
        for (const s of (await clients.replayLibrary(config, teacher.replayFiles)).set.skipped) {
          const reason = `${s.file}: ${s.reason.replace(/\b\d+\b/g, 'N')}`;
          replaySkipped[reason] = (replaySkipped[reason] ?? 0) + 1;
        }
      }
      const evalSamples: NonNullable<PrepareResult['evaluation']>['samples'] = [];
      if (config.evaluate) {
        for (const [i, et] of config.evaluate.tasks.entries()) {
          const { file } = await freezeSample(clients, config, et, `evaluate.tasks.${i}`);
          const rel = layout.evalSample(exp, et.task, et.split);
          await store.writeJson(rel, file);
          evalQuestionSamples.push(file.questions);
          evalSamples.push({ task: et.task, split: et.split, samplePath: rel, n: file.questions.length });
        }
      }
      log.info('experiment prepared', { experiment: exp, questions, episodes, shards: shards.length });
      return {
        handle: { experiment: exp, artifactDir: config.artifactDir, configSha: frozenRef.sha256, blockedAfterMs: config.blockedAfterSeconds * 1000 },
        shards,
        samples: refs,
        questions,
        episodes,
        replayedTeacher: teacher.provider === 'replay',
        replaySkipped,
        concurrency: parallelism(config),
        continueAsNewAfterEvents: config.generate.continueAsNewAfterEvents,
        teacher: { name: config.generate.teacher, model: teacher.model, provider: teacher.provider },
        students: config.students,
        evaluation: config.evaluate
          ? {
              samples: evalSamples,
              baselines: config.evaluate.baselines.map((b) => ({ ...b, kind: b.model === config.generate.teacher ? ('teacher' as const) : ('base' as const) })),
              baseModels: config.evaluate.baseModels,
              toolNoise: config.evaluate.toolNoise,
              maxParallel: config.evaluate.maxParallel,
            }
          : null,
        name: config.name,
        description: config.description,
        budget: budgetPlan(config, genSamples, evalQuestionSamples),
      };
    },

    /** One agent episode; idempotent: a trajectory already in the store is returned, not re-run. */
    async runEpisode(input: EpisodeInput): Promise<EpisodeSummary> {
      const config = await frozenConfig(input.handle);
      const store = clients.store(config);
      const question = (await sample(config, input.samplePath))[input.index];
      if (!question) throw ApplicationFailure.create({ type: ErrorType.MissingData, message: `no question ${input.index} in ${input.samplePath}`, nonRetryable: true });
      const id = trajectoryId(question, input.method);
      const rel = layout.trajectory(input.handle.experiment, question, input.method);
      const stored = await findTrajectory(store, input.handle.experiment, question, input.method);
      if (stored) {
        // A file of the previous release's layout moves to its own path, where curation reads it.
        if (stored.legacy) await store.writeJson(rel, stored.record);
        return summarize(stored.record, true);
      }
      const task = getTask(input.task);
      const teacherModel = await clients.model(config, config.generate.teacher);
      let model = teacherModel;
      let metered: ReturnType<typeof meterModel> | undefined;
      if (input.allowance) {
        // Refuse before the first call when this episode's reservation does not fit; else meter every call.
        const mc = config.models[config.generate.teacher];
        const prices = mergePrices(config.prices);
        const worst = episodeReservation(
          mc,
          { calls: maxEpisodeCalls(input.method, config.generate), firstPromptTokens: firstPromptBound(input.method, [question], config.generate.fewShot), maxTokens: mc.maxTokens },
          prices,
        );
        if (!fits(worst, input.allowance)) {
          throw budgetExhausted(`episode ${id}: its reservation ($${worst.usd.toFixed(4)}, ${worst.tokens} tokens) does not fit its allowance`, {
            paid: ZERO,
            allowance: input.allowance,
            need: worst,
          });
        }
        metered = meterModel(teacherModel, { allowance: input.allowance, maxTokens: mc.maxTokens, prices });
        model = metered;
      }
      const search = task.usesSearch ? await clients.search(config) : undefined;
      // A third of the episode's heartbeat timeout (profiles.llmCall).
      const heartbeat = startHeartbeat({ id, step: 0 }, 10_000, { lazy: true });
      const teacherConfig = config.models[config.generate.teacher];
      let record: TrajectoryRecord;
      try {
        const result = await runAgentEpisode({
          question,
          method: input.method,
          model,
          search,
          score: (p, a) => task.score(p, a, scoringRuleFor(config, input.task)),
          options: {
            maxSteps: config.generate.maxSteps,
            maxMalformedRetries: config.generate.maxMalformedRetries,
            reflexion: config.generate.reflexion,
            fewShot: config.generate.fewShot,
          },
          signal: Context.current().cancellationSignal,
          onStep: (step) => heartbeat.update({ id, step }),
        });
        record = {
          schema: TRAJECTORY_SCHEMA,
          id,
          experiment: input.handle.experiment,
          teacher: { name: config.generate.teacher, provider: teacherConfig.provider, model: teacherConfig.model, replay: teacherConfig.provider === 'replay' },
          ...result,
        };
      } catch (err) {
        if (!(err instanceof ApplicationFailure && err.type === ErrorType.ReplayMiss)) throw err;
        // A replayed episode that cannot follow its recording is kept as unfinished, with the reason.
        record = {
          schema: TRAJECTORY_SCHEMA,
          id,
          experiment: input.handle.experiment,
          question,
          method: input.method,
          teacher: { name: config.generate.teacher, provider: 'replay', model: teacherConfig.model, replay: true },
          turns: [],
          prediction: null,
          finished: false,
          reward: question.answers.length ? 0 : null,
          metrics: {},
          steps: 0,
          trials: 0,
          malformed: 0,
          forcedFinish: false,
          usage: { calls: 0, promptTokens: 0, completionTokens: 0, cachedCalls: 0 },
          replayNote: err.message,
        };
      } finally {
        heartbeat.stop();
      }
      await store.writeJson(rel, record);
      return { ...summarize(record, false), ...(metered ? { paid: metered.paid() } : {}) };
    },

    /** Keeps the good trajectories and counts every drop reason. */
    async curate(input: { handle: ExperimentHandle; shards: ShardPlan[] }): Promise<CurateResult> {
      const config = await frozenConfig(input.handle);
      const store = clients.store(config);
      const exp = input.handle.experiment;
      const heartbeat = startHeartbeat({ read: 0 });
      try {
        const records: TrajectoryRecord[] = [];
        const missing: Array<{ id: string; reason: string }> = [];
        for (const s of input.shards) {
          const qs = await sample(config, s.samplePath);
          for (let i = s.start; i < s.end; i++) {
            // The previous release's layout too: a reset experiment's generation may not run again.
            const stored = await findTrajectory(store, exp, qs[i], s.method);
            if (stored) records.push(stored.record);
            else missing.push({ id: trajectoryId(qs[i], s.method), reason: 'missing' });
            heartbeat.update({ read: records.length });
          }
        }
        const evalQuestions = config.curate.excludeEvalQuestions
          ? new Set(
              (
                await loadEvalQuestions(config.dataDir, (task, split, err) => log.warn('eval split unavailable for leak check', { task, split, error: err.message }))
              ).keys(),
            )
          : new Set<string>();
        const result = curateTrajectories(records, { ...config.curate, evalQuestions });
        const dropped = [...missing, ...result.dropped];
        const drops: Record<string, number> = { ...result.counts };
        if (missing.length) drops.missing = missing.length;
        const usage = records.reduce((u, r) => addUsage(u, r.usage), emptyUsage());
        const report = { total: records.length + missing.length, kept: result.kept.length, drops, usage };
        return {
          curated: await store.writeJsonl(layout.curated(exp), result.kept),
          dropped: await store.writeJsonl(layout.dropped(exp), dropped),
          report: await store.writeJson(layout.curateReport(exp), report),
          ...report,
        };
      } finally {
        heartbeat.stop();
      }
    },

    /** Writes each configured mix as OpenAI chat JSONL and Alpaca JSON, with counts and sha256. */
    async buildDatasets(input: { handle: ExperimentHandle; curated: ArtifactRef }): Promise<DatasetResult[]> {
      const config = await frozenConfig(input.handle);
      const store = clients.store(config);
      const exp = input.handle.experiment;
      const records = (await store.readRef(input.curated))
        .split('\n')
        .filter((l) => l)
        .map((l) => JSON.parse(l) as TrajectoryRecord);
      const results: DatasetResult[] = [];
      for (const mix of config.datasets) {
        const built = buildDatasetMix(records, mix, config.seed);
        const files: DatasetResult['files'] = {};
        if (built.chatJsonl !== undefined) files.openai = await store.writeText(layout.dataset(exp, mix.name, 'train.openai.jsonl'), built.chatJsonl, built.counts.total);
        if (built.alpacaJson !== undefined) files.alpaca = await store.writeText(layout.dataset(exp, mix.name, 'train.alpaca.json'), built.alpacaJson, built.counts.total);
        const result: DatasetResult = { name: mix.name, records: built.counts.total, byTask: built.counts.byTask, byMethod: built.counts.byMethod, files };
        await store.writeJson(layout.dataset(exp, mix.name, 'manifest.json'), { ...result, tasks: mix.tasks, methods: mix.methods });
        results.push(result);
      }
      return results;
    },

    /** report.md, report.html and summary.json, with spend priced from the frozen config's price table. */
    async writeExperimentReport(input: {
      handle: ExperimentHandle;
      report: Omit<ReportInput, 'spend'>;
      generation: { model: { name: string; model: string; provider: string }; usage: Usage };
    }): Promise<ReportRefs> {
      const config = await frozenConfig(input.handle);
      const prices = mergePrices(config.prices);
      const g = input.generation;
      const genCost = estimateCost(g.model, g.usage, prices);
      const spend: SpendRow[] = [
        {
          model: g.model.name,
          stage: 'generate',
          calls: g.usage.calls,
          cachedCalls: g.usage.cachedCalls,
          promptTokens: g.usage.promptTokens,
          completionTokens: g.usage.completionTokens,
          costUsd: genCost.usd,
          unpriced: genCost.flags.includes('unpriced'),
        },
        ...input.report.evaluation.map((r) => ({
          model: r.model,
          stage: `evaluate ${r.task} ${r.method}${r.noise === 'none' ? '' : ` (${r.noise})`}`,
          calls: 0,
          cachedCalls: 0,
          promptTokens: r.promptTokens,
          completionTokens: r.completionTokens,
          costUsd: r.costUsd,
          unpriced: r.costUsd === 0,
        })),
      ];
      // Rows of evaluations from before scoring rules existed were scored by today's lenient rule, the config default.
      const evaluation = input.report.evaluation.map((r) => ({ ...r, scoring: r.scoring ?? scoringRuleFor(config, r.task as TaskName) }));
      const paper = comparePaper({
        rows: evaluation,
        samples: (config.evaluate?.tasks ?? []).map((t) => ({ task: t.task, split: t.split, order: t.sample.order, seed: t.sample.seed ?? config.seed, n: t.sample.n, exclude: t.sample.exclude })),
        students: config.students.flatMap((s) =>
          s.datasets.map((d) => {
            const mix = config.datasets.find((m) => m.name === d)!;
            return { model: studentModelName(s.name, d), backend: s.backend, mode: s.mode, baseModel: s.baseModel, mix: { name: d, tasks: mix.tasks, methods: mix.methods } };
          }),
        ),
        teacher: config.models[config.generate.teacher].model,
      });
      return writeReport(clients.store(config), experimentDir(input.handle.experiment), { ...input.report, evaluation, paper, spend });
    },
  };

  const python = deps.python ?? createTrainerPythonResolver(env);
  return {
    ...experiment,
    ...createLocalFineTuneActivities({ python, env }),
    ...createOpenAIFineTuneActivities({ env }),
    ...createEvaluateActivities({ clients, frozen, python, env }),
  };
}

/** Shards and episodes at once, derived from the teacher's limits unless the config fixes them. */
function parallelism(config: ExperimentConfig): PrepareResult['concurrency'] {
  const p = generationParallelism(config);
  return { shards: p.maxParallelShards, episodes: p.episodeConcurrency };
}

/** The budget the workflow's ledger keeps, or null when the config sets none. Reservations as `fireact plan` shows them. */
function budgetPlan(config: ExperimentConfig, genSamples: Parameters<typeof generationReservations>[1], evalSamples: Question[][]): BudgetPlan | null {
  const b = config.budget;
  if (!b) return null;
  const prices = mergePrices(config.prices);
  const ev = config.evaluate;
  return {
    caps: { usd: b.usd, tokens: b.tokens },
    perModel: b.perModel ?? {},
    prices,
    teacher: config.generate.teacher,
    generate: generationReservations(config, genSamples, prices),
    evaluate: ev
      ? { maxSteps: ev.maxSteps, maxMalformedRetries: config.generate.maxMalformedRetries, reflexion: config.generate.reflexion, prompts: evalPromptBounds(config, evalSamples) }
      : null,
    models: Object.fromEntries(Object.entries(config.models).map(([k, m]) => [k, { provider: m.provider, model: m.model, maxTokens: m.maxTokens }])),
  };
}

/** An existing experiment folder whose name equals `dir` but for case (refused everywhere, so runs behave alike on every file system). */
async function caseTwin(store: ArtifactStore, dir: string): Promise<string | undefined> {
  const lower = dir.toLowerCase();
  return (await store.list('')).find((name) => name !== dir && name.toLowerCase() === lower);
}

function summarize(r: TrajectoryRecord, reused: boolean): EpisodeSummary {
  return { id: r.id, reward: r.reward, finished: r.finished, steps: r.steps, calls: r.usage.calls, cachedCalls: r.usage.cachedCalls, reused };
}

export type Activities = ReturnType<typeof createActivities>;
export { experimentDir };
