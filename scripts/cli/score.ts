// `fireact score --task T --predictions F.jsonl [--split S] [--scoring R] [--data-dir D]`: scores
// predictions with the task's own scorer under one scoring rule and prints the means with bootstrap 95%
// intervals as JSON; every metric names the split, the rule and the n it was computed on.
// Each line: {"prediction": string | null, "answer": string | string[]} or {"prediction": ..., "question": "..."}.
import { promises as fs } from 'node:fs';
import { DEFAULT_DATA_DIR, DEFAULT_SCORING_RULE, SCORING_RULES, type ScoringRule } from '../../core/config';
import { TASK_NAMES, type TaskName } from '../../core/names';
import type { Question } from '../../core/trajectory';
import { aggregateEpisodes, type EpisodeOutcome } from '../../lib/evaluate/metrics';
import { getTask, loadSplit, splitsOf } from '../../lib/tasks/registry';

const USAGE = `usage: fireact score --task <task> --predictions <file.jsonl> [--split S] [--scoring ${SCORING_RULES.join('|')}] [--data-dir D]
  --scoring lenient (default): a yes/no or an option letter found anywhere in the answer
  --scoring fireact: the FireAct authors' checks (the answer starts with the gold yes/no or letter)
  HotpotQA and Bamboogle EM/F1 are the same under both rules.`;

interface ScoreArgs {
  task: TaskName;
  predictions: string;
  split?: string;
  scoring: ScoringRule;
  dataDir: string;
}

/** Checks the flags (the dispatcher has already refused unknown ones) before any file is read. */
function scoreArgs(opts: { task?: string; predictions?: string; split?: string; scoring?: string; dataDir?: string }): ScoreArgs {
  const { task, predictions, split } = opts;
  if (!task) throw new Error(`score: --task is required\n${USAGE}`);
  if (!(TASK_NAMES as readonly string[]).includes(task)) throw new Error(`score: unknown task "${task}"; known tasks: ${TASK_NAMES.join(', ')}`);
  if (!predictions) throw new Error(`score: --predictions is required\n${USAGE}`);
  const splits = splitsOf(task as TaskName);
  if (split !== undefined && !splits.includes(split)) throw new Error(`score: task ${task} has no split "${split}"; its splits are: ${splits.join(', ')}`);
  const scoring = opts.scoring ?? DEFAULT_SCORING_RULE;
  if (!(SCORING_RULES as readonly string[]).includes(scoring)) throw new Error(`score: unknown scoring rule "${scoring}"; use ${SCORING_RULES.join(' or ')}`);
  return { task: task as TaskName, predictions, split, scoring: scoring as ScoringRule, dataDir: opts.dataDir ?? DEFAULT_DATA_DIR };
}

const squeeze = (text: string) => text.trim().replace(/\s+/g, ' ');

/** Finds a question's gold answers by its exact text, then by its whitespace-normalised text. */
function questionIndex(questions: readonly Question[]) {
  const exact = new Map<string, Question[]>();
  const loose = new Map<string, Question[]>();
  const add = (m: Map<string, Question[]>, k: string, q: Question) => m.set(k, [...(m.get(k) ?? []), q]);
  for (const q of questions) {
    add(exact, q.text, q);
    add(loose, squeeze(q.text), q);
  }
  return (text: string): { answers: string[] } | { error: string } => {
    const hits = exact.get(text) ?? loose.get(squeeze(text));
    if (!hits) return { error: 'unknown question (not in the split, even with whitespace normalised)' };
    const distinct = new Set(hits.map((q) => JSON.stringify(q.answers)));
    if (distinct.size > 1) return { error: `question matches ${hits.length} questions of the split with different answers; give "answer" instead` };
    if (hits[0].answers.length === 0) return { error: 'the split has no gold answer for this question' };
    return { answers: hits[0].answers };
  };
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string');
}

/** One metric, labelled with what it was computed on, so a number copied out of the output keeps its meaning. */
export interface ScoredMetric {
  mean: number | null;
  ci95: [number, number] | null;
  split: string;
  scoring: ScoringRule;
  n: number;
}

export interface ScoreOutput {
  task: TaskName;
  split: string;
  scoring: ScoringRule;
  n: number;
  unfinished: number;
  metrics: Record<string, ScoredMetric>;
}

async function scorePredictions(args: ScoreArgs): Promise<{ output?: ScoreOutput; errors: string[] }> {
  const task = getTask(args.task);
  const split = args.split ?? task.evalSplits[0];
  let text: string;
  try {
    text = await fs.readFile(args.predictions, 'utf8');
  } catch (err) {
    return { errors: [`${args.predictions}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`] };
  }
  let lookup: ReturnType<typeof questionIndex> | undefined;
  const errors: string[] = [];
  const episodes: EpisodeOutcome[] = [];
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    if (!raw.trim()) continue;
    const where = `${args.predictions}:${i + 1}`;
    let row: unknown;
    try {
      row = JSON.parse(raw);
    } catch (err) {
      errors.push(`${where}: not JSON (${(err as Error).message})`);
      continue;
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      errors.push(`${where}: not a JSON object`);
      continue;
    }
    const r = row as Record<string, unknown>;
    if (!('prediction' in r)) {
      errors.push(`${where}: missing prediction (a string, or null for an unfinished episode)`);
      continue;
    }
    if (r.prediction !== null && typeof r.prediction !== 'string') {
      errors.push(`${where}: prediction must be a string or null, got ${typeof r.prediction}`);
      continue;
    }
    let answers: string[];
    if ('answer' in r) {
      if (typeof r.answer === 'string') answers = [r.answer];
      else if (isStringArray(r.answer)) answers = r.answer;
      else {
        errors.push(`${where}: answer must be a string or a non-empty array of strings`);
        continue;
      }
    } else if (typeof r.question === 'string') {
      lookup ??= questionIndex(await loadSplit(args.dataDir, args.task, split));
      const found = lookup(r.question);
      if ('error' in found) {
        errors.push(`${where}: ${found.error}`);
        continue;
      }
      answers = found.answers;
    } else {
      errors.push(`${where}: needs "answer" (string or string[]) or "question" (string)`);
      continue;
    }
    const prediction = r.prediction;
    const scored = task.score(prediction, answers, args.scoring);
    episodes.push({
      reward: scored.score,
      metrics: scored.metrics,
      finished: prediction !== null,
      validActions: 0,
      totalActions: 0,
      steps: 0,
      promptTokens: 0,
      completionTokens: 0,
      costUsd: 0,
    });
  }
  if (errors.length) return { errors };
  if (episodes.length === 0) return { errors: [`${args.predictions}: no predictions`] };
  const agg = aggregateEpisodes(episodes, { metricNames: Object.keys(task.score(null, ['-'], args.scoring).metrics) });
  const label = { split, scoring: args.scoring, n: agg.n };
  const metrics = Object.fromEntries(Object.entries(agg.means).map(([name, mean]) => [name, { mean, ci95: agg.ci95[name] ?? null, ...label }]));
  return {
    errors: [],
    output: { task: args.task, ...label, unfinished: episodes.filter((e) => !e.finished).length, metrics },
  };
}

export async function scoreCommand(opts: { task?: string; predictions?: string; split?: string; scoring?: string; dataDir?: string }): Promise<number> {
  const result = await scorePredictions(scoreArgs(opts));
  if (!result.output) {
    for (const e of result.errors) console.error(`fireact score: ${e}`);
    return 1;
  }
  console.log(JSON.stringify(result.output, null, 2));
  return 0;
}
