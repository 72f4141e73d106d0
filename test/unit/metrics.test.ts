// Evaluation aggregates: hand-computed means and rates, and the percentile bootstrap's intervals.
import assert from 'node:assert/strict';
import { test } from '@jest/globals';
import { aggregateEpisodes, bootstrapMeans, quantile, summarizeMetrics, type EpisodeOutcome } from '../../lib/evaluate/metrics';

function episode(over: Partial<EpisodeOutcome>): EpisodeOutcome {
  return { reward: 0, metrics: {}, finished: true, validActions: 0, totalActions: 0, steps: 0, promptTokens: 0, completionTokens: 0, costUsd: 0, ...over };
}

test('aggregate of four HotpotQA episodes matches the hand computation', () => {
  const episodes = [
    episode({ reward: 1, metrics: { em: 1, f1: 1 }, validActions: 3, totalActions: 3, steps: 3, promptTokens: 1000, completionTokens: 100, costUsd: 0.04 }),
    episode({ reward: 0, metrics: { em: 0, f1: 0.5 }, validActions: 2, totalActions: 4, steps: 4, promptTokens: 1500, completionTokens: 150, costUsd: 0.06 }),
    // Unfinished: whatever it recorded, it scores 0 (the paper's rule).
    episode({ reward: 1, metrics: { em: 1, f1: 1 }, finished: false, validActions: 0, totalActions: 2, steps: 8, promptTokens: 4000, completionTokens: 400, costUsd: 0.15 }),
    episode({ reward: 1, metrics: { em: 1, f1: 0.8 }, validActions: 1, totalActions: 1, steps: 1, promptTokens: 500, completionTokens: 50, costUsd: 0.02 }),
  ];
  const a = aggregateEpisodes(episodes);
  assert.equal(a.n, 4);
  assert.equal(a.scored, 4);
  assert.deepEqual(Object.keys(a.means), ['em', 'f1']);
  assert.equal(a.means.em, 0.5); // (1 + 0 + 0 + 1) / 4
  assert.ok(Math.abs(a.means.f1! - 0.575) < 1e-12); // (1 + 0.5 + 0 + 0.8) / 4
  assert.equal(a.primary.mean, 0.5);
  assert.equal(a.validActionRate, 6 / 10);
  assert.equal(a.finishedRate, 0.75);
  assert.equal(a.meanSteps, 4);
  assert.deepEqual(a.tokens, { prompt: 7000, completion: 700, total: 7700, meanPerEpisode: 1925 });
  assert.ok(Math.abs(a.costUsd - 0.27) < 1e-12);
  for (const name of ['em', 'f1']) {
    const [lo, hi] = a.ci95[name]!;
    assert.ok(lo <= a.means[name]! && a.means[name]! <= hi, `${name}: ${lo} <= ${a.means[name]} <= ${hi}`);
  }
});

test('a metric an episode lacks counts 0; episodes without gold are left out of the primary score', () => {
  const a = aggregateEpisodes(
    [episode({ reward: 1, metrics: { accuracy: 1 } }), episode({ reward: null, metrics: {} }), episode({ reward: 0, metrics: { accuracy: 0 } })],
    { metricNames: ['accuracy'] },
  );
  assert.equal(a.means.accuracy, 1 / 3);
  assert.equal(a.scored, 2);
  assert.equal(a.primary.mean, 0.5);
  assert.equal(a.validActionRate, null);
});

test('no episodes gives nulls, not NaN', () => {
  const a = aggregateEpisodes([], { metricNames: ['em'] });
  assert.equal(a.n, 0);
  assert.equal(a.means.em, null);
  assert.equal(a.ci95.em, null);
  assert.equal(a.primary.mean, null);
  assert.equal(a.finishedRate, null);
  assert.equal(a.tokens.meanPerEpisode, null);
  assert.doesNotThrow(() => JSON.stringify(a));
});

test('quantile interpolates between order statistics like numpy', () => {
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantile([1, 2, 3, 4], 0), 1);
  assert.equal(quantile([1, 2, 3, 4], 1), 4);
  assert.equal(quantile([10, 20, 30], 0.25), 15);
});

test('two outcomes {0, 1}: the resample means are 0, 0.5, 1 and the 95% interval spans [0, 1]', () => {
  // P(mean = 0) = P(mean = 1) = 1/4, so the 2.5% and 97.5% quantiles of 1000 resamples are the extremes.
  assert.deepEqual(bootstrapMeans({ x: [0, 1] }, { seed: 7 }).x, [0, 1]);
  // A constant column has a zero-width interval.
  assert.deepEqual(bootstrapMeans({ x: [0.25, 0.25, 0.25] }).x, [0.25, 0.25]);
});

test('the bootstrap is deterministic for a seed and changes with it', () => {
  const values = Array.from({ length: 50 }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0));
  const a = bootstrapMeans({ v: values }, { seed: 233 });
  assert.deepEqual(bootstrapMeans({ v: values }, { seed: 233 }), a);
  assert.notDeepEqual(bootstrapMeans({ v: values }, { seed: 234 }), a);
});

test('more data gives a narrower interval around the same mean', () => {
  const pattern = [1, 0, 1, 1, 0];
  const small = Array.from({ length: 20 }, (_, i) => pattern[i % 5]);
  const large = Array.from({ length: 2000 }, (_, i) => pattern[i % 5]);
  const s = summarizeMetrics(small.map((v) => ({ acc: v })));
  const l = summarizeMetrics(large.map((v) => ({ acc: v })));
  assert.equal(s.means.acc, 0.6);
  assert.equal(l.means.acc, 0.6);
  const width = (ci: [number, number] | null) => ci![1] - ci![0];
  assert.ok(s.ci95.acc![0] <= 0.6 && 0.6 <= s.ci95.acc![1]);
  assert.ok(l.ci95.acc![0] <= 0.6 && 0.6 <= l.ci95.acc![1]);
  assert.ok(width(l.ci95.acc) < width(s.ci95.acc) / 5, `${width(l.ci95.acc)} vs ${width(s.ci95.acc)}`);
  // The normal approximation of the binomial: half-width 1.96·sqrt(0.24/2000) ≈ 0.0215.
  assert.ok(Math.abs(width(l.ci95.acc) / 2 - 0.0215) < 0.004, `half-width ${width(l.ci95.acc) / 2}`);
});

test('paired metrics share their resamples: F1 ≥ EM row by row keeps F1 bounds ≥ EM bounds', () => {
  const em = [1, 0, 0, 1, 0, 1, 0, 0];
  const f1 = [1, 0.5, 0.2, 1, 0, 1, 0.6, 0.4];
  const ci = bootstrapMeans({ em, f1 }, { seed: 3 });
  assert.ok(ci.f1![0] >= ci.em![0] && ci.f1![1] >= ci.em![1]);
});

test('bad bootstrap options and ragged columns are refused', () => {
  assert.throws(() => bootstrapMeans({ x: [1] }, { resamples: 0 }), RangeError);
  assert.throws(() => bootstrapMeans({ x: [1] }, { level: 1 }), RangeError);
  assert.throws(() => bootstrapMeans({ x: [1, 0], y: [1] }), /column "y" has 1 values, expected 2/);
});
