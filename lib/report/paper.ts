// Our evaluation rows beside the paper's published figures (paper-results.ts). A setting matches when
// the task, split and method are the paper's, there is no tool noise, and our questions are the
// paper's (its order and seed, at most its n). Within a setting a paper figure shares a line with
// one of ours only when the student is the same: base model, fine-tuning backend and mode, and the
// tasks and methods it was trained on. Pure (no I/O).
import type { MethodName, StudentConfig, TaskName } from '../../core/config';
import type { SampleOrder } from '../tasks/sampling';
import { PAPER_ABSTRACT_HOTPOTQA, PAPER_RESULTS, type PaperResult } from './paper-results';
import type { EvalRow, OurSide, PaperComparison, PaperLine, PaperSetting, PaperSide } from './types';

/** An evaluation sample of the config, as it picked its questions. */
export interface EvalSampleInfo {
  task: string;
  split: string;
  order: SampleOrder;
  seed: number;
  /** Omitted: the whole split. */
  n?: number;
  exclude?: string[];
}

/** A fine-tuned student of the experiment, as its evaluation rows name it. */
export interface StudentInfo {
  /** The rows' model name, `<student>@<mix>`. */
  model: string;
  backend: StudentConfig['backend'];
  mode: StudentConfig['mode'];
  baseModel: string;
  mix: { name: string; tasks: TaskName[]; methods: MethodName[] };
}

const KIND_ORDER: Record<EvalRow['kind'], number> = { teacher: 0, base: 1, student: 2 };

function sameSet<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x)) && b.every((x) => a.includes(x));
}

function studentMatches(fig: PaperResult, s: StudentInfo): boolean {
  const base = s.baseModel.toLowerCase();
  return (
    fig.student.backend === s.backend &&
    (fig.student.mode === undefined || fig.student.mode === s.mode) &&
    fig.student.baseModel.some((fragment) => base.includes(fragment)) &&
    sameSet(fig.trainedOn.tasks, s.mix.tasks) &&
    sameSet(fig.trainedOn.methods, s.mix.methods)
  );
}

function paperSide(fig: PaperResult): PaperSide {
  const t = fig.trainedOn;
  return {
    label: fig.student.label,
    trainedOn: `teacher ${t.teacher}: ${t.tasks.join('+')} × ${t.methods.join('+')} (${t.trajectories} trajectories)`,
    n: fig.sample.n,
    scoring: fig.scoring,
    metrics: { ...fig.metrics },
    finishedRate: fig.finished.count / fig.finished.of,
    table: fig.table,
  };
}

function ourSide(row: EvalRow, student: StudentInfo | undefined, teacher: string): OurSide {
  let trainedOn = row.kind === 'base' ? 'none (base model)' : 'none (prompted)';
  if (student) trainedOn = `teacher ${teacher}: ${student.mix.tasks.join('+')} × ${student.mix.methods.join('+')} (mix ${student.mix.name})`;
  return {
    model: row.model,
    kind: row.kind,
    trainedOn,
    n: row.n,
    ...(row.scoring ? { scoring: row.scoring } : {}),
    metrics: row.metrics,
    finishedRate: row.finishedRate,
  };
}

/** What the sample entries for a (task, split) have in common with the paper's sample, or why they differ. */
function sampleFit(samples: readonly EvalSampleInfo[], paper: PaperResult['sample'], splitSize: (s: EvalSampleInfo) => number | undefined): { n: number } | { why: string } {
  if (samples.length !== 1) return { why: samples.length ? 'several samples of the split' : 'no sample recorded' };
  const s = samples[0];
  const n = s.n ?? splitSize(s);
  if (s.order !== paper.order || s.seed !== paper.seed) return { why: `order ${s.order}, seed ${s.seed} (the paper's: ${paper.order}, seed ${paper.seed})` };
  if (s.exclude?.length) return { why: `questions of ${s.exclude.join(', ')} left out` };
  if (n === undefined || n > paper.n) return { why: `${n ?? 'all'} questions, more than the paper's ${paper.n}` };
  return { n };
}

export function comparePaper(input: {
  rows: readonly EvalRow[];
  samples: readonly EvalSampleInfo[];
  students: readonly StudentInfo[];
  /** The teacher that wrote our students' training trajectories (its model name). */
  teacher: string;
}): PaperComparison {
  const settings: PaperSetting[] = [];
  const unmatched: string[] = [];
  const keys = [...new Set(PAPER_RESULTS.map((f) => `${f.task} ${f.split} ${f.method}`))];
  for (const key of keys) {
    const figures = PAPER_RESULTS.filter((f) => `${f.task} ${f.split} ${f.method}` === key);
    const { task, split, method, sample } = figures[0];
    const rows = input.rows.filter((r) => r.task === task && r.split === split && r.method === method && r.noise === 'none');
    if (rows.length === 0) continue;
    const fit = sampleFit(
      input.samples.filter((s) => s.task === task && s.split === split),
      sample,
      () => rows[0].n,
    );
    if ('why' in fit) {
      unmatched.push(`${task} ${split} ${method}: evaluated on other questions than the paper’s (${fit.why}), so its figures are not shown beside ours.`);
      continue;
    }
    const students = new Map(input.students.map((s) => [s.model, s]));
    const used = new Set<EvalRow>();
    const lines: PaperLine[] = [];
    for (const fig of figures) {
      const mine = rows.filter((r) => r.kind === 'student' && !used.has(r) && students.has(r.model) && studentMatches(fig, students.get(r.model)!));
      if (mine.length === 0) lines.push({ paper: paperSide(fig) });
      for (const r of mine) {
        used.add(r);
        lines.push({ paper: paperSide(fig), ours: ourSide(r, students.get(r.model), input.teacher) });
      }
    }
    const rest = rows
      .filter((r) => !used.has(r))
      .sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
    for (const r of rest) lines.push({ ours: ourSide(r, r.kind === 'student' ? students.get(r.model) : undefined, input.teacher) });
    const how = `${sample.order === 'fireact' ? 'FireAct’s order' : `order ${sample.order}`}, seed ${sample.seed}`;
    settings.push({
      task,
      split,
      method,
      questions: fit.n === sample.n ? `the paper’s ${sample.n} questions (${how})` : `the first ${fit.n} of the paper’s ${sample.n} questions (${how})`,
      metrics: Object.keys(figures[0].metrics),
      lines,
      tables: [...new Set(figures.map((f) => f.table))],
      remarks: task === 'hotpotqa' ? [PAPER_ABSTRACT_HOTPOTQA] : [],
    });
  }
  return { settings, unmatched };
}
