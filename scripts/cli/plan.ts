// `fireact plan <config> [--json]`: what the experiment will do and cost, before it starts.
// Exit status 1 when the plan has problems (missing data, missing secrets), after printing them.
import { loadConfigFile } from '../../activities/experiment/config-file';
import { createClientProvider } from '../../activities/experiment/clients';
import type { Range } from '../../activities/plan/estimates';
import { planExperiment, type ExperimentPlan } from '../../activities/plan/plan';

type Cell = string | number;

/** Left-aligned text columns, right-aligned numbers. */
export function table(header: string[], rows: Cell[][]): string[] {
  const cells = [header, ...rows.map((r) => r.map((v) => (typeof v === 'number' ? v.toLocaleString('en-US') : v)))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => r[c].length)));
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number'));
  return cells.map((r) => '  ' + r.map((v, c) => (numeric[c] ? v.padStart(widths[c]) : v.padEnd(widths[c]))).join('  ').trimEnd());
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');
const range = (r: Range) => (r.typical === r.upper ? count(r.typical) : `~${count(r.typical)} (≤ ${count(r.upper)})`);
const usd = (n: number) => `$${n < 10 ? n.toFixed(2) : Math.round(n).toLocaleString('en-US')}`;
const usdRange = (r: Range) => `~${usd(r.typical)} (≤ ${usd(r.upper)})`;

export function renderPlan(plan: ExperimentPlan): string {
  const t = plan.teacher;
  const priced = !plan.models.some((m) => m.role === 'teacher' && m.flags.includes('unpriced'));
  const lines = [
    `plan for experiment "${plan.experiment}"`,
    `  teacher: ${t.name} (${t.provider}, ${t.model})${t.replay ? ' — replay of recorded turns, nothing is spent' : ''}`,
    `  search:  ${plan.search.backend}${plan.search.backend === 'replay' ? ` (fallback ${plan.search.fallback})` : ''}`,
    `  data:    ${plan.dataDir}`,
    '',
    'question samples',
    ...table(
      ['#', 'task', 'split', 'order', 'seed', 'split size', 'n', 'first ids'],
      plan.samples.map((s) => [s.entry, s.task, s.split, s.order, s.seed, s.splitSize ?? '-', s.n, s.error ? `(error: ${s.error})` : s.ids.slice(0, 3).join(', ') + (s.ids.length > 3 ? ', …' : '')]),
    ),
    '',
    'episodes',
    ...table(
      ['task', 'split', 'method', 'episodes', 'shards', 'calls/episode', 'first prompt tok', 'calls', 'prompt tok', 'completion tok', 'cost', ...(t.replay ? ['recorded'] : [])],
      plan.runs.map((r) => [
        r.task,
        r.split,
        r.method,
        r.episodes,
        r.shards,
        range(r.callsPerEpisode),
        r.firstPromptTokens,
        range(r.calls),
        range({ typical: r.tokens.typical.prompt, upper: r.tokens.upper.prompt }),
        range({ typical: r.tokens.typical.completion, upper: r.tokens.upper.completion }),
        priced ? usdRange(r.costUsd) : '-',
        ...(t.replay ? [r.recorded ?? 0] : []),
      ]),
    ),
    '',
    `totals: ${count(plan.totals.questions)} questions, ${count(plan.totals.episodes)} episodes in ${count(plan.totals.shards)} shards`,
    `  model calls ${range(plan.totals.calls)}, searches ${range(plan.totals.searches)}`,
    `  tokens: prompt ${range({ typical: plan.totals.tokens.typical.prompt, upper: plan.totals.tokens.upper.prompt })}, completion ${range({ typical: plan.totals.tokens.typical.completion, upper: plan.totals.tokens.upper.completion })}`,
    ...plan.models.map((m) => `  ${m.role} ${m.name} (${m.model}): ${m.flags.includes('unpriced') ? 'unpriced ($0)' : `${usdRange(m.costUsd)} at ${m.priceKey} prices`}`),
    '',
    'datasets',
    ...table(
      ['name', 'tasks', 'methods', 'formats', 'from episodes', 'records at most'],
      plan.datasets.map((d) => [d.name, d.tasks.join(','), d.methods.join(','), d.formats.join(','), d.episodes, d.recordsAtMost]),
    ),
    '',
    'estimates assume:',
    ...plan.assumptions.map((a) => `  - ${a}`),
  ];
  if (plan.warnings.length) lines.push('', 'warnings:', ...plan.warnings.map((w) => `  - ${w}`));
  if (plan.problems.length) lines.push('', `problems (${plan.problems.length}):`, ...plan.problems.map((p) => `  - ${p}`));
  else lines.push('', 'no problems found');
  return lines.join('\n');
}

export async function planCommand(args: string[]): Promise<number> {
  const json = args.includes('--json');
  const unknown = args.filter((a) => a.startsWith('--') && a !== '--json');
  if (unknown.length) throw new Error(`plan: unknown option ${unknown[0]}; usage: fireact plan <config> [--json]`);
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) throw new Error('plan needs a config file: fireact plan <config> [--json]');
  const config = await loadConfigFile(file);
  const plan = await planExperiment(config, createClientProvider(process.env), { env: process.env });
  if (json) {
    console.log(JSON.stringify(plan, null, 2));
    for (const p of plan.problems) console.error(`problem: ${p}`);
  } else {
    console.log(renderPlan(plan));
  }
  return plan.problems.length ? 1 : 0;
}
