// The evaluate stage before it runs: the frozen eval samples (the freezeSample calls prepareExperiment
// makes), the runs core/eval-plan builds from the fine-tune outcomes the plan expects (the workflow
// builds them from the real ones with the same function), and their calls, tokens and cost.
import { isHostedFineTune } from '../../core/names';
import { ModelSchema, type ExperimentConfig, type MethodName, type TaskName } from '../../core/config';
import { evalBaselines, evalRunName, evalRuns, evalTargets, type EvalKind, type EvalNoise, type EvalPlanTarget } from '../../core/eval-plan';
import { evalReservation } from '../../core/budget';
import { estimateCost, type PriceFlag, type PriceTable, type PricedModel } from '../../core/prices';
import type { Question } from '../../core/trajectory';
import type { ClientProvider } from '../experiment/clients';
import { LOCAL_EVAL_MAX_TOKENS } from '../evaluate/serve';
import { getTask } from '../tasks/registry';
import {
  callsPerEpisode,
  estimateEpisodes,
  sumRanges,
  sumTokens,
  type Range,
  type RunEstimate,
  type TokenRange,
} from './estimates';
import type { ExpectedFineTune } from './finetune';
import { meanFirstPromptTokens } from './prompt-size';
import { evalPromptBounds } from './reservations';
import { planSample, type PlannedSampleView } from './samples';

export type PlannedEvalSample = PlannedSampleView;

export interface PlannedEvalRun extends RunEstimate {
  /** The run's child workflow name under `<experiment>/evaluate/`. */
  id: string;
  /** Report row label: "<student>@<dataset>", "<student>-base" or a configured model's name. */
  target: string;
  kind: EvalKind;
  prompt: 'student' | 'few-shot';
  method: MethodName;
  /** Who answers: 'local' (served on the GPU worker) or a model provider. */
  provider: string;
  model: string;
  /** Index in evaluate.tasks. */
  entry: number;
  task: TaskName;
  split: string;
  noise: EvalNoise;
  priceKey?: string;
  flags: PriceFlag[];
}

export interface PlannedEvalModel {
  name: string;
  kind: EvalKind;
  provider: string;
  model: string;
  runs: number;
  episodes: number;
  calls: Range;
  tokens: TokenRange;
  costUsd: Range;
  priceKey?: string;
  flags: PriceFlag[];
}

export interface EvaluationPlan {
  maxSteps: number;
  episodeConcurrency: number;
  maxParallel: number;
  baseModels: boolean;
  toolNoise: EvalNoise[];
  samples: PlannedEvalSample[];
  runs: PlannedEvalRun[];
  models: PlannedEvalModel[];
  totals: { runs: number; episodes: number; calls: Range; searches: Range; tokens: TokenRange; costUsd: Range };
}

interface Answerer {
  provider: string;
  model: string;
  priced: PricedModel;
  maxTokens: number;
}

/** The model behind a target, resolved as evaluateModel resolves it (served local, OpenAI fine-tune, configured model). */
function answerer(target: EvalPlanTarget, config: ExperimentConfig, describe: Map<string, string>): Answerer {
  if (target.local) {
    return { provider: 'local', model: describe.get(target.name) ?? target.name, priced: { provider: 'local', model: target.name }, maxTokens: LOCAL_EVAL_MAX_TOKENS };
  }
  if (target.openai) {
    const mc = ModelSchema.parse({ provider: 'openai', ...target.openai });
    return { provider: 'openai', model: describe.get(target.name) ?? target.openai.model, priced: { provider: 'openai', model: target.openai.model }, maxTokens: mc.maxTokens };
  }
  const mc = config.models[target.configModel!];
  return { provider: mc.provider, model: mc.model, priced: { provider: mc.provider, model: mc.model }, maxTokens: mc.maxTokens };
}

export interface EvaluationPlanInput {
  config: ExperimentConfig;
  clients: ClientProvider;
  prices: PriceTable;
  expected: readonly ExpectedFineTune[];
  problems: string[];
  warnings: string[];
}

export async function planEvaluation(input: EvaluationPlanInput): Promise<EvaluationPlan | null> {
  const { config, clients, prices, problems, warnings } = input;
  const ev = config.evaluate;
  if (!ev) return null;

  const samples: PlannedEvalSample[] = [];
  const questions: Question[][] = [];
  for (const [i, et] of ev.tasks.entries()) {
    const r = await planSample(clients, config, et, 'evaluate.tasks', i);
    if (r.problem) problems.push(r.problem);
    samples.push(r.view);
    questions.push(r.questions);
  }

  const baselines = evalBaselines(ev.baselines, config.generate.teacher);
  const targets = evalTargets({ students: config.students, trained: input.expected.map((e) => e.outcome), baselines, baseModels: ev.baseModels });
  const describe = new Map<string, string>();
  for (const { student, dataset } of input.expected) {
    const base = student.baseModel === 'init' ? 'init (tiny model built from init)' : student.baseModel;
    describe.set(`${student.name}@${dataset}`, isHostedFineTune(student.backend) ? `ft:${student.baseModel} (named when the job ends)` : `${base} fine-tuned (${student.mode}) on ${dataset}`);
    describe.set(`${student.name}-base`, base);
  }

  // A replayed baseline answers only questions it has a recording of; any other stops evaluateModel (ReplayMiss).
  for (const [i, b] of ev.baselines.entries()) {
    const mc = config.models[b.model];
    if (mc.provider !== 'replay') continue;
    let library: Awaited<ReturnType<ClientProvider['replayLibrary']>>;
    try {
      library = await clients.replayLibrary(config, mc.replayFiles);
    } catch (err) {
      problems.push(`evaluate.baselines.${i}: replayed model "${b.model}" cannot load its recordings: ${(err as Error).message}`);
      continue;
    }
    for (const [k, s] of samples.entries()) {
      for (const method of b.methods) {
        const missing = questions[k].filter((q) => library.find(s.task, method, q.text) === undefined).length;
        if (missing > 0) {
          problems.push(
            `evaluate.baselines.${i}: replayed model "${b.model}" has no recorded ${method} trajectory for ${missing} of ${s.n} ${s.task} ${s.split} questions; evaluating them fails (ReplayMiss)`,
          );
        }
      }
    }
  }

  const limits = { maxSteps: ev.maxSteps, reflexion: config.generate.reflexion };
  // The budget reserves per episode what the workflow computes from these (evalReservation); the same call here.
  const reserve = { evaluate: { ...limits, maxMalformedRetries: config.generate.maxMalformedRetries, prompts: evalPromptBounds(config, questions) }, prices };
  const runs: PlannedEvalRun[] = [];
  const seen = new Map<string, number>();
  for (const { target, sample, noise } of evalRuns(targets, samples, ev.toolNoise)) {
    const who = answerer(target, config, describe);
    const episodes = sample.n;
    const first = meanFirstPromptTokens(target.method, questions[sample.entry], config.generate.fewShot, target.prompt);
    const prompts = reserve.evaluate.prompts;
    const shape = { calls: callsPerEpisode(sample.task, target.method, limits).upper, firstPromptTokens: target.prompt === 'student' ? prompts.student : prompts.fewShot[target.method], maxTokens: who.maxTokens };
    const est = estimateEpisodes({ task: sample.task, method: target.method, episodes, limits, usesSearch: getTask(sample.task).usesSearch, maxTokens: who.maxTokens, firstPromptTokens: first, shape });
    const { tokens } = est;
    const t = estimateCost(who.priced, { promptTokens: tokens.typical.prompt, completionTokens: tokens.typical.completion }, prices);
    const reservation = evalReservation({ ...who.priced, maxTokens: who.maxTokens }, target.method, target.prompt, reserve);
    const id = evalRunName(target, sample.task, noise, sample.split);
    seen.set(id, (seen.get(id) ?? 0) + 1);
    runs.push({
      id,
      target: target.name,
      kind: target.kind,
      prompt: target.prompt,
      method: target.method,
      provider: who.provider,
      model: who.model,
      entry: sample.entry,
      task: sample.task,
      split: sample.split,
      noise,
      ...est,
      costUsd: { typical: t.usd, upper: episodes * reservation.usd },
      reservation,
      ...(t.priceKey ? { priceKey: t.priceKey } : {}),
      flags: t.flags,
    });
  }
  for (const [id, n] of seen) {
    // The split is not part of a run's workflow id: two that share one cannot run at the same time.
    if (n > 1) warnings.push(`evaluation: ${n} runs share the workflow id ".../evaluate/${id}" (same model, task and method on different splits); running at once, the later one fails to start`);
  }

  const models: PlannedEvalModel[] = [];
  for (const r of runs) {
    let m = models.find((x) => x.name === r.target);
    if (!m) {
      m = { name: r.target, kind: r.kind, provider: r.provider, model: r.model, runs: 0, episodes: 0, calls: { typical: 0, upper: 0 }, tokens: sumTokens([]), costUsd: { typical: 0, upper: 0 }, ...(r.priceKey ? { priceKey: r.priceKey } : {}), flags: r.flags };
      models.push(m);
    }
    m.runs += 1;
    m.episodes += r.episodes;
    m.calls = sumRanges([m.calls, r.calls]);
    m.tokens = sumTokens([m.tokens, r.tokens]);
    m.costUsd = sumRanges([m.costUsd, r.costUsd]);
  }
  for (const m of models) {
    if (m.flags.includes('unpriced') && m.provider === 'openai') warnings.push(`evaluation of "${m.name}" is unpriced: no price known for "${m.model}" (add one under prices)`);
  }

  return {
    maxSteps: ev.maxSteps,
    episodeConcurrency: ev.episodeConcurrency,
    maxParallel: ev.maxParallel,
    baseModels: ev.baseModels,
    toolNoise: ev.toolNoise,
    samples,
    runs,
    models,
    totals: {
      runs: runs.length,
      episodes: runs.reduce((s, r) => s + r.episodes, 0),
      calls: sumRanges(runs.map((r) => r.calls)),
      searches: sumRanges(runs.map((r) => r.searches)),
      tokens: sumTokens(runs.map((r) => r.tokens)),
      costUsd: sumRanges(runs.map((r) => r.costUsd)),
    },
  };
}
