// Stage prepare: validate the config, check secrets by name, freeze config and question samples, plan the shards.
import { log } from '@temporalio/activity';
import type { ArtifactRef } from '../core/artifacts';
import { generationParallelism, parseExperimentConfig, type ExperimentConfig, type MethodName } from '../core/config';
import { ErrorType, typedFailure } from '../core/errors';
import { experimentIdProblem } from '../core/ids';
import type { Question } from '../core/trajectory';
import { mergePrices } from '../core/prices';
import type { BudgetPlan } from '../core/budget';
import type { ArtifactStore } from '../lib/artifacts/store';
import type { ClientProvider } from '../lib/experiment/clients';
import { resolveConfigPaths } from '../lib/experiment/config-file';
import { experimentDir, layout } from '../lib/experiment/layout';
import { freezeSample } from '../lib/experiment/sample';
import { resolveApiKey } from '../lib/models/openai-model';
import { evalPromptBounds, generationReservations } from '../lib/plan/reservations';
import type { PrepareResult, ShardPlan } from './contracts';

export function createPrepareActivities(deps: { clients: ClientProvider; env: NodeJS.ProcessEnv }) {
  const { clients, env } = deps;
  return {
    /** Validates the config, checks data and secrets, freezes the question sample and plans the shards. */
    async prepareExperiment(input: { experiment: string; config: unknown }): Promise<PrepareResult> {
      // The id names the artifact folder: refuse one that cannot, before anything is written or spent.
      const idProblem = experimentIdProblem(input.experiment);
      if (idProblem) throw typedFailure({ type: ErrorType.InvalidExperimentId, message: idProblem, nonRetryable: true });
      let config: ExperimentConfig;
      try {
        config = resolveConfigPaths(parseExperimentConfig(input.config));
      } catch (err) {
        throw typedFailure({ type: ErrorType.InvalidConfig, message: (err as Error).message, nonRetryable: true });
      }
      // Secrets are checked before anything is spent; only the variable's name is ever reported.
      for (const [name, mc] of Object.entries(config.models)) {
        if (mc.provider === 'openai') {
          try {
            resolveApiKey(mc, env);
          } catch (err) {
            throw typedFailure({ type: ErrorType.MissingSecret, message: `model "${name}": ${(err as Error).message}`, nonRetryable: true });
          }
        }
      }
      for (const st of config.students) {
        if (st.backend === 'openai' && st.apiKeyEnv && !env[st.apiKeyEnv]?.trim()) {
          throw typedFailure({
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
        throw typedFailure({
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
