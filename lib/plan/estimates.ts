// How many model calls and tokens one episode takes, before any is made. The typical figures come
// from the FireAct GPT-4 recordings: mean steps and turn lengths per task and method (each task's
// `recorded`). Those are successful trajectories, so failing runs take more.
import { episodeUpperTokens, MESSAGE_OVERHEAD_TOKENS, upperGrowthPerStep, type EpisodeShape } from '../../core/budget';
import { isSingleTurn, maxEpisodeCalls } from '../../core/methods';
import type { MethodName, TaskName } from '../../core/config';
import { OBSERVATION_PREFIX } from '../../core/trajectory';
import { getTask } from '../tasks/registry';

export { MESSAGE_OVERHEAD_TOKENS };

/** Rough tokens per character for English prompts (OpenAI's rule of thumb: 1 token ≈ 4 characters). */
const CHARS_PER_TOKEN = 4;

export interface StepLimits {
  maxSteps: number;
  reflexion: { maxTrials: number; stepsPerTrial: number };
}

export interface Range {
  typical: number;
  upper: number;
}

export function charsToTokens(chars: number): number {
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

/**
 * Model calls per episode. io/cot answer in one call. ReAct and Reflexion: typical = the recorded
 * mean; upper = every step used up to the cap plus the forced finish, as the budget reserves it
 * (re-asks after malformed replies, up to maxMalformedRetries per step, come on top of both).
 */
export function callsPerEpisode(task: TaskName, method: MethodName, limits: StepLimits): Range {
  const upper = maxEpisodeCalls(method, limits);
  if (isSingleTurn(method)) return { typical: 1, upper };
  return { typical: Math.min(getTask(task).recorded.steps[method], upper), upper };
}

/** Search calls per episode: every step but the finishing one, when the task offers search. */
function searchesPerEpisode(task: TaskName, method: MethodName, limits: StepLimits, usesSearch: boolean): Range {
  if (!usesSearch || isSingleTurn(method)) return { typical: 0, upper: 0 };
  const calls = callsPerEpisode(task, method, limits);
  return { typical: Math.max(0, calls.typical - 1), upper: calls.upper - 1 };
}

/** Completion tokens per call: the recorded mean turn, or maxTokens at worst. */
function completionTokensPerCall(task: TaskName, method: MethodName, maxTokens: number): Range {
  return { typical: Math.min(maxTokens, charsToTokens(getTask(task).recorded.turnChars[method])), upper: maxTokens };
}

/** How much each step adds to the next prompt: the assistant turn and its observation, as two messages. */
function promptGrowthPerStep(task: TaskName, completion: number): number {
  const observation = charsToTokens(OBSERVATION_PREFIX.length + getTask(task).recorded.turnChars.observation);
  return completion + observation + 2 * MESSAGE_OVERHEAD_TOKENS;
}

/** Prompt tokens of `calls` calls whose first prompt is `first` tokens and each next one `growth` more. */
function promptTokensOverCalls(calls: number, first: number, growth: number): number {
  return calls * first + (growth * calls * (calls - 1)) / 2;
}

/** Tokens of one search observation as a message ("Observation: …"), with its chat overhead. */
function observationTokens(task: TaskName): number {
  return charsToTokens(OBSERVATION_PREFIX.length + getTask(task).recorded.turnChars.observation) + MESSAGE_OVERHEAD_TOKENS;
}

/**
 * Tokens of one training conversation as the chat datasets store it: the question, then `steps`
 * assistant turns of `turnTokens` each, with an observation between steps when the method searches.
 */
export function trainingExampleTokens(task: TaskName, method: MethodName, questionTokens: number, steps: number, turnTokens: number): number {
  const single = isSingleTurn(method);
  const turns = single ? 1 : Math.max(1, steps);
  const observations = single ? 0 : turns - 1;
  return questionTokens + MESSAGE_OVERHEAD_TOKENS + turns * (turnTokens + MESSAGE_OVERHEAD_TOKENS) + observations * observationTokens(task);
}

/**
 * Epochs OpenAI picks for n_epochs "auto", as its fine-tuning data-preparation guide describes it:
 * 3, raised until the job sees at least 100 examples (at most 25 epochs), lowered to stay near 25,000.
 */
export function openAIAutoEpochs(examples: number): number {
  const target = 3;
  if (examples <= 0) return target;
  if (examples * target < 100) return Math.min(25, Math.floor(100 / examples));
  if (examples * target > 25_000) return Math.max(1, Math.floor(25_000 / examples));
  return target;
}

/** Optimizer steps per epoch of the local trainer: examples split over GPUs, then batches, then accumulation. */
export function localStepsPerEpoch(examples: number, s: { gpus: number; batchSize: number; gradAccum: number }): number {
  const perRank = Math.ceil(examples / s.gpus);
  return Math.ceil(Math.ceil(perRank / s.batchSize) / s.gradAccum);
}

export interface TokenRange {
  typical: { prompt: number; completion: number };
  upper: { prompt: number; completion: number };
}

export function sumRanges(rs: readonly Range[]): Range {
  return { typical: rs.reduce((s, r) => s + r.typical, 0), upper: rs.reduce((s, r) => s + r.upper, 0) };
}

/** The estimate every planned run carries, generation or evaluation. */
export interface RunEstimate {
  episodes: number;
  callsPerEpisode: Range;
  searchesPerEpisode: Range;
  /** Mean prompt tokens of an episode's first call over the sampled questions (system prompt, examples, question). */
  firstPromptTokens: number;
  completionTokensPerCall: Range;
  /** Prompt tokens each step adds to the next call (typical; upper: a maxTokens reply and the longest observation). */
  promptGrowthPerStep: Range;
  calls: Range;
  searches: Range;
  tokens: TokenRange;
  /** Upper: episodes × the reservation. */
  costUsd: Range;
  /** What the budget reserves for one episode of this run before it starts (core/budget.ts episodeReservation). */
  reservation: { usd: number; tokens: number };
}

export function sumTokens(ts: readonly TokenRange[]): TokenRange {
  const out: TokenRange = { typical: { prompt: 0, completion: 0 }, upper: { prompt: 0, completion: 0 } };
  for (const t of ts) {
    out.typical.prompt += t.typical.prompt;
    out.typical.completion += t.typical.completion;
    out.upper.prompt += t.upper.prompt;
    out.upper.completion += t.upper.completion;
  }
  return out;
}

/**
 * Tokens of `episodes` episodes. Typical: `calls.typical` calls whose first prompt is `first` tokens
 * and grows by `growth.typical` a step. Upper: the budget's reservation (`upper`, core/budget.ts).
 */
function episodeTokens(episodes: number, calls: Range, first: number, completion: Range, growth: Range, upper: EpisodeShape): TokenRange {
  const u = episodeUpperTokens(upper);
  return {
    typical: {
      prompt: Math.round(episodes * promptTokensOverCalls(calls.typical, first, growth.typical)),
      completion: episodes * calls.typical * completion.typical,
    },
    upper: { prompt: episodes * u.prompt, completion: episodes * u.completion },
  };
}

/** The part of a run's estimate that follows from its episodes alone: everything but cost and reservation. */
type EpisodeEstimate = Omit<RunEstimate, 'costUsd' | 'reservation'>;

/**
 * `episodes` episodes of one task and method answered by a model with `maxTokens`: calls, searches,
 * turn and prompt sizes, tokens (upper: the budget's reservation `shape`). Generation and evaluation plan alike.
 */
export function estimateEpisodes(p: {
  task: TaskName;
  method: MethodName;
  episodes: number;
  limits: StepLimits;
  usesSearch: boolean;
  maxTokens: number;
  firstPromptTokens: number;
  shape: EpisodeShape;
}): EpisodeEstimate {
  const { task, method, episodes } = p;
  const perEpisode = callsPerEpisode(task, method, p.limits);
  const searchPer = searchesPerEpisode(task, method, p.limits, p.usesSearch);
  const completion = completionTokensPerCall(task, method, p.maxTokens);
  const growth: Range = { typical: promptGrowthPerStep(task, completion.typical), upper: upperGrowthPerStep(p.maxTokens) };
  return {
    episodes,
    callsPerEpisode: perEpisode,
    searchesPerEpisode: searchPer,
    firstPromptTokens: p.firstPromptTokens,
    completionTokensPerCall: completion,
    promptGrowthPerStep: growth,
    calls: { typical: episodes * perEpisode.typical, upper: episodes * perEpisode.upper },
    searches: { typical: episodes * searchPer.typical, upper: episodes * searchPer.upper },
    tokens: episodeTokens(episodes, perEpisode, p.firstPromptTokens, completion, growth, p.shape),
  };
}
