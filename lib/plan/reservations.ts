// What the budget reserves per episode, measured on the frozen samples' real first prompts.
// prepareExperiment hands these to the workflow's ledger and `fireact plan` shows them as its upper
// bound, both through these functions (core/budget.ts holds the arithmetic), so they cannot disagree.
import { episodeReservation, type Amount, type EpisodeShape, type EvalPromptBounds } from '../../core/budget';
import { generationPriced, type ExperimentConfig } from '../../core/config';
import { maxEpisodeCalls, METHOD_NAMES, type MethodName } from '../../core/methods';
import type { PriceTable } from '../../core/prices';
import type { Question } from '../../core/trajectory';
import { promptMessages, studentMessages } from '../agent/prompts';
import { requestTokensBound } from '../budget/metered-model';

/** The largest first request over `questions`, counted as the budget's check counts it. */
export function firstPromptBound(method: MethodName, questions: readonly Question[], fewShot: number, prompt: 'few-shot' | 'student' = 'few-shot'): number {
  let most = 0;
  for (const q of questions) {
    const messages = prompt === 'student' ? studentMessages(q, []) : promptMessages(method, q, [], fewShot);
    most = Math.max(most, requestTokensBound({ messages }));
  }
  return most;
}

/** Generation's episode shape per method: the largest first prompt over the entries that use it. */
export function generationShapes(
  config: ExperimentConfig,
  entries: ReadonlyArray<{ methods: readonly MethodName[]; questions: readonly Question[] }>,
): Record<string, EpisodeShape> {
  const gen = config.generate;
  const maxTokens = config.models[gen.teacher].maxTokens;
  const out: Record<string, EpisodeShape> = {};
  for (const e of entries) {
    for (const method of e.methods) {
      const first = firstPromptBound(method, e.questions, gen.fewShot);
      if (!out[method] || out[method].firstPromptTokens < first) out[method] = { calls: maxEpisodeCalls(method, gen), firstPromptTokens: first, maxTokens };
    }
  }
  return out;
}

/** Generation's reservation per method, as the budget's ledger keeps it. */
export function generationReservations(
  config: ExperimentConfig,
  entries: ReadonlyArray<{ methods: readonly MethodName[]; questions: readonly Question[] }>,
  prices: PriceTable,
): Record<string, Amount> {
  const teacher = generationPriced(config);
  return Object.fromEntries(Object.entries(generationShapes(config, entries)).map(([m, shape]) => [m, episodeReservation(teacher, shape, prices)]));
}

/** The largest first requests of evaluation, over every eval sample: few-shot per method (baselines), and a student's bare question. */
export function evalPromptBounds(config: ExperimentConfig, samples: ReadonlyArray<readonly Question[]>): EvalPromptBounds {
  const all = samples.flat();
  const fewShot: Record<string, number> = {};
  for (const m of METHOD_NAMES) fewShot[m] = firstPromptBound(m, all, config.generate.fewShot);
  return { fewShot, student: firstPromptBound('react', all, 0, 'student') };
}
