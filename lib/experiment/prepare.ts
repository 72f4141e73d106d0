// What prepare freezes for an experiment: its config and question samples in the artifact store, the
// shards generation runs, and the budget plan the workflow's ledger keeps.
import type { ArtifactRef } from '../../core/artifacts';
import type { BudgetPlan } from '../../core/budget';
import { generationParallelism, type ExperimentConfig, type MethodName, type TaskName } from '../../core/config';
import { mergePrices } from '../../core/prices';
import type { Question } from '../../core/trajectory';
import type { ArtifactStore } from '../artifacts/store';
import { evalPromptBounds, generationReservations } from '../plan/reservations';
import type { ClientProvider } from './clients';
import { layout } from './layout';
import { freezeSample } from './sample';

/** One shard of generation: questions [start, end) of a frozen sample, for one method. */
export interface ShardPlan {
  task: TaskName;
  split: string;
  method: MethodName;
  shard: number;
  samplePath: string;
  start: number;
  end: number;
}

export interface FrozenEvalSample {
  task: TaskName;
  split: string;
  samplePath: string;
  n: number;
}

export interface FrozenExperiment {
  config: ArtifactRef;
  shards: ShardPlan[];
  samples: ArtifactRef[];
  questions: number;
  episodes: number;
  /** Replay only: records of the FireAct files that could not be replayed, counted by reason. */
  replaySkipped: Record<string, number>;
  evalSamples: FrozenEvalSample[];
  budget: BudgetPlan | null;
}

/** Writes the config and every question sample of experiment `exp` and plans its shards. */
export async function freezeExperiment(clients: ClientProvider, store: ArtifactStore, config: ExperimentConfig, exp: string): Promise<FrozenExperiment> {
  const configRef = await store.writeJson(layout.config(exp), config);
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
  const evalSamples: FrozenEvalSample[] = [];
  if (config.evaluate) {
    for (const [i, et] of config.evaluate.tasks.entries()) {
      const { file } = await freezeSample(clients, config, et, `evaluate.tasks.${i}`);
      const rel = layout.evalSample(exp, et.task, et.split);
      await store.writeJson(rel, file);
      evalQuestionSamples.push(file.questions);
      evalSamples.push({ task: et.task, split: et.split, samplePath: rel, n: file.questions.length });
    }
  }
  return { config: configRef, shards, samples: refs, questions, episodes, replaySkipped, evalSamples, budget: budgetPlan(config, genSamples, evalQuestionSamples) };
}

/** Shards and episodes at once (derived from the teacher's limits unless the config fixes them), and episodes per activity. */
export function parallelism(config: ExperimentConfig): { shards: number; episodes: number; perActivity: number } {
  const p = generationParallelism(config);
  return { shards: p.maxParallelShards, episodes: p.episodeConcurrency, perActivity: config.generate.episodesPerActivity };
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
export async function caseTwin(store: ArtifactStore, dir: string): Promise<string | undefined> {
  const lower = dir.toLowerCase();
  return (await store.list('')).find((name) => name !== dir && name.toLowerCase() === lower);
}
