// The report's content, built once from a ReportInput and rendered by both the Markdown and the HTML
// renderer, so the two always carry the same sections, rows and formatted numbers.
import {
  DASH,
  duration,
  fixed,
  int,
  metricLabel,
  metricParts,
  methodLabel,
  noiseLabel,
  pctSign,
  ppDelta,
  taskLabel,
  usd,
} from './format';
import type { EvalRow, PaperLine, PaperSetting, ReportInput, StudentSummary } from './types';

export interface Cell {
  text: string;
  /** A 95% interval shown after the text ("[27.0, 35.5]"). */
  ci?: string;
  /** De-emphasised (placeholders, "unpriced"). */
  muted?: boolean;
}

export interface Column {
  label: string;
  numeric: boolean;
}

export interface ReportTable {
  id: string;
  columns: Column[];
  rows: Cell[][];
  /** A closing sums row. */
  total?: Cell[];
}

export interface Note {
  kind: 'replay-teacher' | 'tiny-student';
  /** The warning itself, shown prominently. */
  text: string;
  /** Particulars after the warning. */
  detail?: string;
}

export interface Section {
  id: string;
  title: string;
  paragraphs: string[];
  tables: ReportTable[];
  /** Remarks after the tables (what could not be shown). */
  remarks?: string[];
}

export interface ReportDocument {
  title: string;
  description?: string;
  facts: Array<[label: string, value: string]>;
  notes: Note[];
  sections: Section[];
}

// Orders: the paper's (tasks as in its tables, methods from simplest to richest), then by name.
const TASK_ORDER = ['hotpotqa', 'bamboogle', 'strategyqa', 'mmlu'];
const METHOD_ORDER = ['io', 'cot', 'react', 'reflexion'];
const NOISE_ORDER = ['none', 'empty', 'random'];
const KIND_ORDER = ['teacher', 'base', 'student'];
const METRIC_ORDER = ['em', 'f1', 'accuracy'];

function byList(order: readonly string[]): (a: string, b: string) => number {
  return (a, b) => {
    const ia = order.indexOf(a);
    const ib = order.indexOf(b);
    const ra = ia < 0 ? order.length : ia;
    const rb = ib < 0 ? order.length : ib;
    return ra !== rb ? ra - rb : a < b ? -1 : a > b ? 1 : 0;
  };
}

export const compareTask = byList(TASK_ORDER);
export const compareMethod = byList(METHOD_ORDER);
export const compareNoise = byList(NOISE_ORDER);
export const compareKind = byList(KIND_ORDER);
const compareMetric = byList(METRIC_ORDER);
export const compareText = byList([]);

/** Rows in reading order: task, split, noise, then teacher, base models, students, then method. */
export function sortEvalRows(rows: readonly EvalRow[]): EvalRow[] {
  return [...rows].sort(
    (a, b) =>
      compareTask(a.task, b.task) ||
      compareText(a.split, b.split) ||
      compareNoise(a.noise, b.noise) ||
      compareKind(a.kind, b.kind) ||
      compareText(a.model, b.model) ||
      compareMethod(a.method, b.method),
  );
}

export function uniqueSorted(values: Iterable<string>, compare: (a: string, b: string) => number): string[] {
  return [...new Set(values)].sort(compare);
}

/** The paper's headline metric per task: EM for the open-answer tasks, accuracy for the others. */
export function primaryMetric(task: string, available: readonly string[] = []): string {
  if (task === 'hotpotqa' || task === 'bamboogle') return 'em';
  if (task === 'strategyqa' || task === 'mmlu') return 'accuracy';
  return ['em', 'accuracy'].find((m) => available.includes(m)) ?? [...available].sort(compareMetric)[0] ?? 'em';
}

export function metricNamesOf(rows: readonly EvalRow[]): string[] {
  return uniqueSorted(
    rows.flatMap((r) => Object.keys(r.metrics)),
    compareMetric,
  );
}

function studentByName(input: ReportInput): Map<string, StudentSummary> {
  return new Map(input.students.map((s) => [s.name, s]));
}

function kindLabel(row: EvalRow, students: Map<string, StudentSummary>, teacherReplay: boolean): string {
  if (row.kind === 'teacher') return teacherReplay ? 'teacher (replay)' : 'teacher';
  if (row.kind === 'student') return students.get(row.model)?.tinyDemoModel ? 'student (tiny demo)' : 'student';
  return 'base';
}

export interface ValidActionPair {
  student: EvalRow;
  base: EvalRow;
}

/**
 * Each student's evaluation beside its base model's on the same task, split, method and noise. The base
 * row is the one named like the student's base model, else the only base model evaluated there.
 */
export function validActionPairs(input: ReportInput): { pairs: ValidActionPair[]; unmatched: EvalRow[] } {
  const students = studentByName(input);
  const bases = input.evaluation.filter((r) => r.kind === 'base');
  const pairs: ValidActionPair[] = [];
  const unmatched: EvalRow[] = [];
  for (const student of sortEvalRows(input.evaluation.filter((r) => r.kind === 'student'))) {
    const candidates = bases.filter(
      (b) => b.task === student.task && b.split === student.split && b.method === student.method && b.noise === student.noise,
    );
    const wanted = students.get(student.model)?.baseModel;
    const named = candidates.find((b) => b.model === wanted);
    const base = named ?? (new Set(candidates.map((b) => b.model)).size === 1 ? candidates[0] : undefined);
    if (base) pairs.push({ student, base });
    else unmatched.push(student);
  }
  return { pairs, unmatched };
}

function text(t: string, muted = false): Cell {
  return muted ? { text: t, muted } : { text: t };
}

function num(t: string): Cell {
  return t === DASH ? { text: t, muted: true } : { text: t };
}

function col(label: string, numeric = false): Column {
  return { label, numeric };
}

/** A section's table, or none when it would have no rows (the section's paragraph says why). */
function tableIfAny(table: ReportTable): ReportTable[] {
  return table.rows.length === 0 ? [] : [table];
}

function evalKey(row: EvalRow): string {
  return `${row.task} ${row.split} ${row.method} ${row.noise} ${row.model}`;
}

function studentsSection(input: ReportInput): Section {
  const rows = input.students.map((s) => [
    text(s.name),
    text(s.backend),
    text(s.baseModel),
    text(s.dataset),
    text(s.fineTunedModel),
    text(s.tinyDemoModel ? 'tiny demo (built from config)' : 'pretrained'),
    num(s.steps === undefined ? DASH : int(s.steps)),
    num(fixed(s.trainLoss, 3)),
    num(s.tokensPerSecond === undefined ? DASH : int(s.tokensPerSecond)),
  ]);
  return {
    id: 'students',
    title: 'Students',
    paragraphs: rows.length === 0 ? ['No student was fine-tuned in this experiment.'] : [],
    tables: tableIfAny({
      id: 'students-table',
      columns: [
        col('Student'),
        col('Backend'),
        col('Base model'),
        col('Dataset'),
        col('Fine-tuned model'),
        col('Kind'),
        col('Steps', true),
        col('Train loss', true),
        col('Tokens/s', true),
      ],
      rows,
    }),
  };
}

/** The primary metric per (model, method) and task without tool noise: the shape of the paper's tables. */
function glanceSection(input: ReportInput): Section {
  const clean = input.evaluation.filter((r) => r.noise === 'none');
  const sorted = sortEvalRows(clean);
  const tasks = uniqueSorted(
    sorted.map((r) => r.task),
    compareTask,
  );
  const columns: Array<{ task: string; split: string; metric: string; scoring: string }> = [];
  for (const task of tasks) {
    const taskRows = sorted.filter((r) => r.task === task);
    const metric = primaryMetric(task, metricNamesOf(taskRows));
    for (const split of uniqueSorted(
      taskRows.map((r) => r.split),
      compareText,
    ))
      columns.push({ task, split, metric, scoring: scoringOf(taskRows.filter((r) => r.split === split)) });
  }
  const models: Array<{ model: string; kind: EvalRow['kind']; method: string }> = [];
  const seen = new Set<string>();
  for (const r of [...sorted].sort(
    (a, b) => compareKind(a.kind, b.kind) || compareText(a.model, b.model) || compareMethod(a.method, b.method),
  )) {
    const key = `${r.model} ${r.method}`;
    if (!seen.has(key)) {
      seen.add(key);
      models.push({ model: r.model, kind: r.kind, method: r.method });
    }
  }
  const byKey = new Map(clean.map((r) => [evalKey(r), r]));
  const rows = models.map((m) => [
    text(m.model),
    text(methodLabel(m.method)),
    ...columns.map((c) => {
      const row = byKey.get(`${c.task} ${c.split} ${m.method} none ${m.model}`);
      const parts = metricParts(row?.metrics[c.metric]);
      return parts.main === DASH ? { text: DASH, muted: true } : { text: parts.main, ...(parts.ci ? { ci: parts.ci } : {}) };
    }),
  ]);
  const splitsPerTask = (task: string) => columns.filter((c) => c.task === task).length;
  return {
    id: 'summary',
    title: 'At a glance: primary metric, no tool noise',
    paragraphs:
      rows.length === 0
        ? ['No evaluation without tool noise was run.']
        : [
            'Percent: mean, with the 95% bootstrap interval below or after it. EM for HotpotQA and Bamboogle, accuracy for StrategyQA and MMLU; ' +
              'in brackets the scoring rule (fireact: the FireAct authors’ checks; lenient: a yes/no or option letter found anywhere in the answer).',
          ],
    tables: tableIfAny({
      id: 'summary-table',
      columns: [
        col('Model'),
        col('Method'),
        ...columns.map((c) =>
          col(`${taskLabel(c.task)}${splitsPerTask(c.task) > 1 ? ` ${c.split}` : ''} ${metricLabel(c.metric)} (${c.scoring})`, true),
        ),
      ],
      rows,
    }),
  };
}

/** The rule of a set of rows: the one they share, "mixed" when they differ (runs from before and after a change). */
export function scoringOf(rows: readonly EvalRow[]): string {
  const rules = new Set(rows.map((r) => r.scoring ?? DASH));
  return rules.size === 1 ? [...rules][0] : 'mixed rules';
}

function paperCells(line: PaperLine, metrics: readonly string[]): Cell[] {
  const { paper, ours } = line;
  const notRun = { text: 'not run', muted: true };
  const notInPaper = { text: DASH, muted: true };
  const cells: Cell[] = [];
  for (const m of metrics) {
    const parts = metricParts(ours?.metrics[m]);
    cells.push(ours ? (parts.main === DASH ? { text: DASH, muted: true } : { text: parts.main, ...(parts.ci ? { ci: parts.ci } : {}) }) : notRun);
    cells.push(paper ? num(fixed(paper.metrics[m], 1)) : notInPaper);
  }
  cells.push(ours ? num(pctSign(ours.finishedRate)) : notRun, paper ? num(pctSign(paper.finishedRate)) : notInPaper);
  cells.push(ours ? num(int(ours.n)) : notRun, paper ? num(int(paper.n)) : notInPaper);
  cells.push(ours ? text(ours.scoring ?? DASH, ours.scoring === undefined) : notRun, paper ? text(paper.scoring) : notInPaper);
  return cells;
}

function paperLineLabel(line: PaperLine, input: ReportInput): Cell[] {
  const students = studentByName(input);
  const { paper, ours } = line;
  if (ours && paper) return [text(`${ours.model} · paper: ${paper.label}`), text(ours.trainedOn)];
  if (paper) return [text(`${paper.label} (paper)`), text(paper.trainedOn)];
  const row = ours!;
  const kind = row.kind === 'student' ? (students.get(row.model)?.tinyDemoModel ? 'student, tiny demo' : 'student') : row.kind;
  return [text(`${row.model} (${kind})`), text(row.trainedOn)];
}

function paperTable(setting: PaperSetting, input: ReportInput, index: number): ReportTable {
  const metricCols = setting.metrics.flatMap((m) => [col(`${metricLabel(m)} % ours`, true), col(`${metricLabel(m)} % paper`, true)]);
  return {
    id: `paper-table-${index}`,
    columns: [
      col('Model'),
      col('Fine-tuned on'),
      ...metricCols,
      col('Finished ours', true),
      col('Finished paper', true),
      col('n ours', true),
      col('n paper', true),
      col('Scoring ours'),
      col('Scoring paper'),
    ],
    rows: setting.lines.map((line) => [...paperLineLabel(line, input), ...paperCells(line, setting.metrics)]),
  };
}

/** Our results beside the FireAct paper's published figures, where the experiment ran a paper setting. */
function paperSection(input: ReportInput): Section {
  const settings = input.paper?.settings ?? [];
  const paragraphs: string[] = [];
  if (settings.length === 0) {
    paragraphs.push(
      'No evaluation of this experiment ran a setting of the paper’s published figures (task, split and method, no tool noise, on the paper’s questions), so no paper figure is shown.',
    );
  } else {
    paragraphs.push(
      'The FireAct paper’s published figures (columns “paper”, percent as published, scored by the authors’ rules; an unfinished episode scores 0) beside ours ' +
        '(columns “ours”: mean with its 95% bootstrap interval). A paper figure and ours share a line only when the student is the same: base model, fine-tuning, and the tasks and methods it was trained on; ' +
        '“not run” marks a paper student this experiment did not fine-tune, “—” one of ours the paper has no figure for.',
    );
    for (const s of settings) {
      paragraphs.push(`${taskLabel(s.task)} ${s.split}, ${methodLabel(s.method)}, no tool noise: ours on ${s.questions}. Source: ${s.tables.join('; ')}.`);
    }
  }
  return {
    id: 'paper',
    title: 'Beside the paper',
    paragraphs,
    tables: settings.map((s, i) => paperTable(s, input, i)),
    remarks: [...settings.flatMap((s) => s.remarks), ...(input.paper?.unmatched ?? [])],
  };
}

function resultsSection(input: ReportInput): Section {
  const sorted = sortEvalRows(input.evaluation);
  const metrics = metricNamesOf(sorted);
  const students = studentByName(input);
  const rows = sorted.map((r) => [
    text(taskLabel(r.task)),
    text(r.split),
    text(noiseLabel(r.noise)),
    text(r.model),
    text(kindLabel(r, students, input.teacher.replay)),
    text(methodLabel(r.method)),
    text(r.scoring ?? DASH, r.scoring === undefined),
    num(int(r.n)),
    ...metrics.map((m) => {
      const parts = metricParts(r.metrics[m]);
      return parts.main === DASH ? { text: DASH, muted: true } : { text: parts.main, ...(parts.ci ? { ci: parts.ci } : {}) };
    }),
    num(pctSign(r.validActionRate)),
    num(pctSign(r.finishedRate)),
    num(fixed(r.meanSteps, 2)),
  ]);
  return {
    id: 'results',
    title: 'Results',
    paragraphs:
      rows.length === 0
        ? ['No evaluation was run.']
        : [
            'One row per evaluated (task, split, tool noise, model, method). Metrics in percent: mean, with the 95% bootstrap interval, scored by the rule in the Scoring column. ' +
              'Valid actions: share of agent actions that parse; finished: share of episodes that reached an answer.',
          ],
    tables: tableIfAny({
      id: 'results',
      columns: [
        col('Task'),
        col('Split'),
        col('Noise'),
        col('Model'),
        col('Kind'),
        col('Method'),
        col('Scoring'),
        col('n', true),
        ...metrics.map((m) => col(`${metricLabel(m)} %`, true)),
        col('Valid actions', true),
        col('Finished', true),
        col('Mean steps', true),
      ],
      rows,
    }),
  };
}

function validActionSection(input: ReportInput): Section {
  const { pairs, unmatched } = validActionPairs(input);
  const rows = pairs.map(({ student, base }) => [
    text(student.model),
    text(base.model),
    text(taskLabel(student.task)),
    text(student.split),
    text(methodLabel(student.method)),
    text(noiseLabel(student.noise)),
    num(pctSign(base.validActionRate)),
    num(pctSign(student.validActionRate)),
    num(ppDelta(student.validActionRate, base.validActionRate)),
  ]);
  const paragraphs: string[] = [];
  if (rows.length === 0) paragraphs.push('No student was evaluated beside its base model on the same task and method.');
  else
    paragraphs.push(
      'Share of the agent’s actions that parse as a valid action, for the base model (before) and the fine-tuned student (after), on the same task, split, method and tool noise.',
    );
  const remarks: string[] = [];
  if (unmatched.length > 0)
    remarks.push(
      `No base-model evaluation to compare with: ${unmatched
        .map((r) => `${r.model} on ${taskLabel(r.task)} ${r.split}, ${methodLabel(r.method)}, noise ${noiseLabel(r.noise)}`)
        .join('; ')}.`,
    );
  return {
    id: 'valid-action',
    title: 'Valid-action rate before and after fine-tuning',
    paragraphs,
    remarks,
    tables: tableIfAny({
      id: 'valid-action-table',
      columns: [
        col('Student'),
        col('Base model'),
        col('Task'),
        col('Split'),
        col('Method'),
        col('Noise'),
        col('Before (base)', true),
        col('After (student)', true),
        col('Change', true),
      ],
      rows,
    }),
  };
}

function datasetsSection(input: ReportInput): Section {
  const tasks = uniqueSorted(
    input.datasets.flatMap((d) => Object.keys(d.byTask)),
    compareTask,
  );
  const methods = uniqueSorted(
    input.datasets.flatMap((d) => Object.keys(d.byMethod)),
    compareMethod,
  );
  const count = (n: number | undefined) => (n === undefined || n === 0 ? { text: '0', muted: true } : num(int(n)));
  const rows = input.datasets.map((d) => [
    text(d.name),
    num(int(d.records)),
    ...tasks.map((t) => count(d.byTask[t])),
    ...methods.map((m) => count(d.byMethod[m])),
  ]);
  return {
    id: 'datasets',
    title: 'Dataset composition',
    paragraphs: rows.length === 0 ? ['No dataset was built.'] : ['Records per fine-tuning mix, by task and by method.'],
    tables: tableIfAny({
      id: 'datasets-table',
      columns: [
        col('Mix'),
        col('Records', true),
        ...tasks.map((t) => col(taskLabel(t), true)),
        ...methods.map((m) => col(methodLabel(m), true)),
      ],
      rows,
    }),
  };
}

function share(n: number, total: number): string {
  return total > 0 ? pctSign(n / total) : DASH;
}

function curationSection(input: ReportInput): Section {
  const { total, kept, drops } = input.curation;
  const entries = Object.entries(drops).sort((a, b) => b[1] - a[1] || compareText(a[0], b[0]));
  const dropped = entries.reduce((s, [, n]) => s + n, 0);
  const rows = entries.map(([reason, n]) => [text(reason), num(int(n)), num(share(n, total))]);
  return {
    id: 'curation',
    title: 'Curation',
    paragraphs: [
      `${int(kept)} of ${int(total)} trajectories kept (${share(kept, total)}); each dropped one is counted under its first failing rule.`,
    ],
    tables: tableIfAny({
      id: 'curation-table',
      columns: [col('Drop reason'), col('Records', true), col('Share of all', true)],
      rows,
      total: [text('All drops'), num(int(dropped)), num(share(dropped, total))],
    }),
  };
}

function replaySection(input: ReportInput): Section {
  const entries = Object.entries(input.replaySkipped).sort((a, b) => b[1] - a[1] || compareText(a[0], b[0]));
  const skipped = entries.reduce((s, [, n]) => s + n, 0);
  let paragraph: string;
  if (entries.length > 0) paragraph = `${int(skipped)} released records could not be replayed and were left out, by reason:`;
  else if (input.teacher.replay) paragraph = 'Every released record could be replayed.';
  else paragraph = 'The teacher was a live model; nothing was replayed.';
  return {
    id: 'replay',
    title: 'Replay records skipped',
    paragraphs: [paragraph],
    tables: tableIfAny({
      id: 'replay-table',
      columns: [col('Reason'), col('Records', true)],
      rows: entries.map(([reason, n]) => [text(reason), num(int(n))]),
      total: [text('All skipped'), num(int(skipped))],
    }),
  };
}

function spendSection(input: ReportInput): Section {
  const rows = input.spend.map((s) => [
    text(s.model),
    text(s.stage),
    num(int(s.calls)),
    num(int(s.cachedCalls)),
    num(int(s.promptTokens)),
    num(int(s.completionTokens)),
    s.unpriced ? text('unpriced', true) : num(usd(s.costUsd)),
  ]);
  const sum = (f: (s: ReportInput['spend'][number]) => number) => input.spend.reduce((acc, s) => acc + f(s), 0);
  const priced = input.spend.filter((s) => !s.unpriced);
  const anyUnpriced = priced.length < input.spend.length;
  const totalCost = priced.reduce((acc, s) => acc + s.costUsd, 0);
  const paragraphs =
    rows.length === 0
      ? ['No model call was recorded.']
      : [
          'Cached calls were answered from the content cache and not paid again; tokens count every call.' +
            (anyUnpriced ? ' Unpriced: no price is known for the model (replayed, local or unknown names); the total leaves them out.' : ''),
          ...input.spend.flatMap((s) =>
            s.batch && !s.unpriced
              ? [
                  `${s.stage} by ${s.model} went through the Batch API: ${int(s.batch.batches)} batches over ${int(s.batch.rounds)} shard rounds, ${int(s.batch.requests)} requests ` +
                    `(${int(s.batch.failedRequests)} asked again after an expiry or error), priced at ${s.batch.discount * 100}% of the list price: ${usd(s.costUsd)}; ` +
                    `the same calls made synchronously would have cost ${usd(s.batch.syncCostUsd)}.` +
                    (s.batch.syncEpisodes ? ` ${int(s.batch.syncEpisodes)} straggler episodes finished synchronously; their calls are counted at the batch price here.` : ''),
                ]
              : [],
          ),
        ];
  return {
    id: 'spend',
    title: 'Spend',
    paragraphs,
    tables: tableIfAny({
      id: 'spend-table',
      columns: [
        col('Model'),
        col('Stage'),
        col('Calls', true),
        col('Cached', true),
        col('Prompt tokens', true),
        col('Completion tokens', true),
        col('Cost', true),
      ],
      rows,
      total: [
        text('Total'),
        text(''),
        num(int(sum((s) => s.calls))),
        num(int(sum((s) => s.cachedCalls))),
        num(int(sum((s) => s.promptTokens))),
        num(int(sum((s) => s.completionTokens))),
        text(priced.length === 0 ? 'unpriced' : `${usd(totalCost)}${anyUnpriced ? ' + unpriced' : ''}`),
      ],
    }),
  };
}

function timeSection(input: ReportInput): Section {
  // Stages in the order the experiment recorded them, which is the order they ran.
  const entries = Object.entries(input.stageSeconds);
  const total = entries.reduce((s, [, v]) => s + (Number.isFinite(v) ? v : 0), 0);
  const rows = entries.map(([stage, seconds]) => [text(stage), num(duration(seconds)), num(fixed(seconds, 1)), num(share(seconds, total))]);
  return {
    id: 'time',
    title: 'Time per stage',
    paragraphs: rows.length === 0 ? ['No stage timing was recorded.'] : [],
    tables: tableIfAny({
      id: 'time-table',
      columns: [col('Stage'), col('Time', true), col('Seconds', true), col('Share', true)],
      rows,
      total: [text('All stages'), num(duration(total)), num(fixed(total, 1)), num(share(total, total))],
    }),
  };
}

function notes(input: ReportInput): Note[] {
  const out: Note[] = [];
  if (input.teacher.replay)
    out.push({
      kind: 'replay-teacher',
      text: 'Teacher: replay of the GPT-4 trajectories released with FireAct — no model was called.',
      detail: `Teacher "${input.teacher.name}" (model "${input.teacher.model}") answered every turn from the recordings, so its rows score the recorded answers.`,
    });
  const tiny = input.students.filter((s) => s.tinyDemoModel);
  if (tiny.length > 0) {
    out.push({
      kind: 'tiny-student',
      text: 'Student: tiny demo model built from a config — not a pretrained model; numbers show the pipeline, not the paper’s results.',
      detail: `Tiny demo ${tiny.length === 1 ? 'student' : 'students'}: ${tiny.map((s) => `"${s.name}" (base "${s.baseModel}")`).join(', ')}.`,
    });
  }
  return out;
}

export function buildReport(input: ReportInput): ReportDocument {
  const facts: Array<[string, string]> = [
    ['Experiment', input.experiment],
    ['Generated', input.generatedAt],
    ['Teacher', `${input.teacher.name} (${input.teacher.model})${input.teacher.replay ? ', replayed' : ''}`],
    ['Students', input.students.length === 0 ? 'none' : input.students.map((s) => s.name).join(', ')],
    ['Evaluations', `${int(input.evaluation.length)} (task, split, noise, model, method) rows`],
  ];
  return {
    title: input.name,
    ...(input.description ? { description: input.description } : {}),
    facts,
    notes: notes(input),
    sections: [
      studentsSection(input),
      glanceSection(input),
      paperSection(input),
      resultsSection(input),
      validActionSection(input),
      datasetsSection(input),
      curationSection(input),
      replaySection(input),
      spendSection(input),
      timeSection(input),
    ],
  };
}
