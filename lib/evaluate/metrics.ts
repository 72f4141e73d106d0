// Aggregating one (model, task, method) evaluation: means of the task metrics with percentile-bootstrap
// confidence intervals, plus action validity, completion, steps, tokens and cost. Pure and seeded, so
// the same episodes always give the same numbers.
import { SeededRandom } from '../tasks/sampling';

export interface EpisodeOutcome {
  /** The task's primary score (EM or accuracy); null when the question has no gold answer. */
  reward: number | null;
  /** The task's metrics (em/f1 or accuracy) as its scorer returned them. */
  metrics: Record<string, number>;
  finished: boolean;
  validActions: number;
  totalActions: number;
  steps: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export interface BootstrapOptions {
  /** Resamples (B); 1000 by default. */
  resamples?: number;
  /** Seed of the resampling stream; 0 by default. */
  seed?: number;
  /** Coverage of the interval; 0.95 by default. */
  level?: number;
}

export interface AggregateOptions extends BootstrapOptions {
  /** Metric names to report; default: every name any episode reports. A missing value counts 0. */
  metricNames?: readonly string[];
}

export type Interval = [low: number, high: number];

export interface MetricSummary {
  /** Mean per metric; null when there are no episodes. */
  means: Record<string, number | null>;
  ci95: Record<string, Interval | null>;
}

export interface EvaluationAggregate extends MetricSummary {
  n: number;
  /** Episodes with a gold answer (those the primary score covers). */
  scored: number;
  primary: { mean: number | null; ci95: Interval | null };
  /** Valid actions over all actions, pooled across episodes; null when no action was taken. */
  validActionRate: number | null;
  finishedRate: number | null;
  meanSteps: number | null;
  tokens: { prompt: number; completion: number; total: number; meanPerEpisode: number | null };
  costUsd: number;
}

function mean(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** The p-quantile of sorted values with linear interpolation between order statistics (numpy's default). */
export function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('quantile of no values');
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

function checkBootstrap(options: BootstrapOptions): Required<BootstrapOptions> {
  const resamples = options.resamples ?? 1000;
  const seed = options.seed ?? 0;
  const level = options.level ?? 0.95;
  if (!Number.isSafeInteger(resamples) || resamples < 1) throw new RangeError(`resamples must be a positive integer, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`level must lie strictly between 0 and 1, got ${level}`);
  return { resamples, seed, level };
}

/**
 * Percentile-bootstrap intervals for the means of several equally long columns. Every resample draws
 * one set of row indices shared by all columns, so paired metrics (EM and F1) move together.
 */
export function bootstrapMeans(columns: Record<string, readonly number[]>, options: BootstrapOptions = {}): Record<string, Interval | null> {
  const { resamples, seed, level } = checkBootstrap(options);
  const names = Object.keys(columns);
  const n = names.length ? columns[names[0]].length : 0;
  for (const name of names) {
    if (columns[name].length !== n) throw new RangeError(`column "${name}" has ${columns[name].length} values, expected ${n}`);
  }
  const out: Record<string, Interval | null> = {};
  if (n === 0) {
    for (const name of names) out[name] = null;
    return out;
  }
  const rng = new SeededRandom(seed);
  const draws = names.map(() => new Float64Array(resamples));
  for (let b = 0; b < resamples; b++) {
    const sums = new Float64Array(names.length);
    for (let k = 0; k < n; k++) {
      const row = rng.below(n);
      for (let c = 0; c < names.length; c++) sums[c] += columns[names[c]][row];
    }
    for (let c = 0; c < names.length; c++) draws[c][b] = sums[c] / n;
  }
  const tail = (1 - level) / 2;
  names.forEach((name, c) => {
    const sorted = Array.from(draws[c]).sort((a, b) => a - b);
    out[name] = [quantile(sorted, tail), quantile(sorted, 1 - tail)];
  });
  return out;
}

/** Means and bootstrap intervals of per-episode metric rows; a row without a metric counts 0 for it. */
export function summarizeMetrics(rows: readonly Record<string, number>[], options: AggregateOptions = {}): MetricSummary {
  const names = options.metricNames ?? [...new Set(rows.flatMap((r) => Object.keys(r)))].sort();
  const columns: Record<string, number[]> = {};
  for (const name of names) columns[name] = rows.map((r) => r[name] ?? 0);
  const means: Record<string, number | null> = {};
  for (const name of names) means[name] = mean(columns[name]);
  return { means, ci95: bootstrapMeans(columns, options) };
}

/**
 * The aggregate of one (model, task, method). An unfinished episode scores 0 on every task metric
 * (whatever its record says), as the FireAct paper counts them.
 */
export function aggregateEpisodes(episodes: readonly EpisodeOutcome[], options: AggregateOptions = {}): EvaluationAggregate {
  const n = episodes.length;
  const names = options.metricNames ?? [...new Set(episodes.flatMap((e) => Object.keys(e.metrics)))].sort();
  const rows = episodes.map((e) => {
    const row: Record<string, number> = {};
    for (const name of names) row[name] = e.finished ? (e.metrics[name] ?? 0) : 0;
    return row;
  });
  const summary = summarizeMetrics(rows, { ...options, metricNames: names });

  const scoredRewards = episodes.filter((e) => e.reward !== null).map((e) => (e.finished ? (e.reward as number) : 0));
  const primaryCi = bootstrapMeans({ primary: scoredRewards }, options).primary;

  let valid = 0;
  let total = 0;
  let prompt = 0;
  let completion = 0;
  let cost = 0;
  for (const e of episodes) {
    valid += e.validActions;
    total += e.totalActions;
    prompt += e.promptTokens;
    completion += e.completionTokens;
    cost += e.costUsd;
  }
  return {
    n,
    scored: scoredRewards.length,
    ...summary,
    primary: { mean: mean(scoredRewards), ci95: primaryCi },
    validActionRate: total > 0 ? valid / total : null,
    finishedRate: mean(episodes.map((e) => (e.finished ? 1 : 0))),
    meanSteps: mean(episodes.map((e) => e.steps)),
    tokens: { prompt, completion, total: prompt + completion, meanPerEpisode: n ? (prompt + completion) / n : null },
    costUsd: cost,
  };
}
