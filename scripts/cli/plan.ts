// `fireact plan <config> [--json]`: what the experiment will do and cost, before it starts.
// Covers generation, fine-tuning and evaluation. Exit status 1 when the plan has problems (missing
// data, secrets or models), after printing them.
import type { ExperimentConfig } from '../../core/config';
import { loadConfigFileWithInfo } from '../../lib/experiment/config-file';
import { refuseGpuMisfit } from './start';
import { createClientProvider } from '../../lib/experiment/clients';
import type { Range } from '../../lib/plan/estimates';
import { planExperiment, type ExperimentPlan, type PlannedSampleView } from '../../lib/plan/plan';

type Cell = string | number;

/** Left-aligned text columns, right-aligned numbers. */
function table(header: string[], rows: Cell[][]): string[] {
  const cells = [header, ...rows.map((r) => r.map((v) => (typeof v === 'number' ? v.toLocaleString('en-US') : v)))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => r[c].length)));
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number'));
  return cells.map((r) => '  ' + r.map((v, c) => (numeric[c] ? v.padStart(widths[c]) : v.padEnd(widths[c]))).join('  ').trimEnd());
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');
const range = (r: Range) => (r.typical === r.upper ? count(r.typical) : `~${count(r.typical)} (≤ ${count(r.upper)})`);
const usd = (n: number) => `$${n < 10 ? n.toFixed(2) : Math.round(n).toLocaleString('en-US')}`;
const usdRange = (r: Range) => `~${usd(r.typical)} (≤ ${usd(r.upper)})`;
const splitSize = (s: PlannedSampleView) =>
  s.splitSize === null ? '-' : s.excluded ? `${count(s.splitSize)} less ${count(s.excluded.questions)} of ${s.excluded.splits.join(', ')}` : s.splitSize;
const reserve = (a: { usd: number; tokens: number }) => (a.tokens ? `$${a.usd.toFixed(4)} / ${count(a.tokens)} tok` : '-');
const firstIds = (s: PlannedSampleView) => (s.error ? `(error: ${s.error})` : s.ids.slice(0, 3).join(', ') + (s.ids.length > 3 ? ', …' : ''));
const tokenPair = (t: ExperimentPlan['totals']['tokens']) => ({
  prompt: range({ typical: t.typical.prompt, upper: t.upper.prompt }),
  completion: range({ typical: t.typical.completion, upper: t.upper.completion }),
});

function fineTuneLines(plan: ExperimentPlan): string[] {
  if (!plan.fineTune.length) return ['fine-tuning: no students'];
  return [
    'fine-tuning (examples are an upper bound: curation keeps fewer)',
    ...table(
      ['student', 'dataset', 'backend', 'base model', 'examples ≤', 'tok/example', 'tok/epoch', 'epochs', 'training tok', 'cost'],
      plan.fineTune.map((f) => [
        f.student,
        f.dataset,
        f.local ? `local ${f.local.mode}, ${f.local.gpus} GPU${f.local.gpus > 1 ? 's' : ''}` : f.backend,
        f.baseModel,
        f.examplesAtMost,
        range(f.tokensPerExample),
        range(f.tokensPerEpoch),
        `${f.epochs} (${f.epochsFrom}${f.local ? `, ${count(f.local.totalStepsAtMost)} steps` : ''})`,
        range(f.trainingTokens),
        f.hardware === 'own' ? 'unpriced (own hardware)' : f.flags.includes('unpriced') ? 'unpriced' : `${usdRange(f.costUsd)} at ${f.priceKey}`,
      ]),
    ),
  ];
}

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)}`;
const params = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : `${(n / 1e3).toFixed(0)}K`);

function gpuMemoryLines(plan: ExperimentPlan): string[] {
  if (!plan.gpuMemory.length) return [];
  return [
    '',
    'GPU memory per device (GiB; local students)',
    ...table(
      ['student', 'base model', 'params', 'setup', 'weights', 'grads', 'optimizer', 'activations', 'total', 'GPUs', 'fits'],
      plan.gpuMemory.map((g) => {
        const e = g.estimate;
        const gpus = `${g.gpus} x ${g.gpuMemoryGB === null ? '?' : `${g.gpuMemoryGB} GB`}`;
        const fits = g.fits === null ? (e ? 'unchecked (no gpuMemoryGB)' : 'unknown shapes') : g.fits ? 'yes' : 'NO';
        if (!e) return [g.student, g.baseModel, '-', g.setup, '-', '-', '-', '-', '-', gpus, fits];
        return [g.student, g.baseModel, params(e.params), g.setup, gib(e.weights), gib(e.gradients), gib(e.optimizer), gib(e.activations), gib(e.total), gpus, fits];
      }),
    ),
    ...plan.gpuMemory.filter((g) => g.shapesFrom).map((g) => `  ${g.student}: shapes from ${g.shapesFrom}`),
  ];
}

function evaluationLines(plan: ExperimentPlan): string[] {
  const ev = plan.evaluation;
  if (!ev) return ['evaluation: none configured'];
  const cost = (r: { provider: string; flags: string[]; costUsd: Range }) =>
    r.flags.includes('unpriced') ? (r.provider === 'local' ? 'own hardware' : 'unpriced') : usdRange(r.costUsd);
  return [
    'evaluation samples',
    ...table(
      ['#', 'task', 'split', 'order', 'seed', 'split size', 'n', 'first ids'],
      ev.samples.map((s) => [s.entry, s.task, s.split, s.order, s.seed, splitSize(s), s.n, firstIds(s)]),
    ),
    '',
    `evaluation runs (max steps ${ev.maxSteps}, ${ev.maxParallel} at a time; tool noise ${ev.toolNoise.join(', ')})`,
    ...table(
      ['model', 'kind', 'prompt', 'method', 'task', 'split', 'noise', 'episodes', 'calls', 'prompt tok', 'completion tok', 'cost', 'reserve/episode'],
      ev.runs.map((r) => {
        const t = tokenPair(r.tokens);
        return [r.target, r.kind, r.prompt, r.method, r.task, r.split, r.noise, r.episodes, range(r.calls), t.prompt, t.completion, cost(r), reserve(r.reservation)];
      }),
    ),
    `  ${count(ev.totals.runs)} runs, ${count(ev.totals.episodes)} episodes, model calls ${range(ev.totals.calls)}, searches ${range(ev.totals.searches)}`,
    ...ev.models.map((m) => `  ${m.kind} ${m.name} (${m.provider}, ${m.model}): ${m.runs} runs, ${cost(m)}${m.priceKey ? ` at ${m.priceKey} prices` : ''}`),
  ];
}

function renderPlan(plan: ExperimentPlan): string {
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
      plan.samples.map((s) => [s.entry, s.task, s.split, s.order, s.seed, splitSize(s), s.n, firstIds(s)]),
    ),
    '',
    'episodes',
    ...table(
      ['task', 'split', 'method', 'episodes', 'shards', 'calls/episode', 'first prompt tok', 'calls', 'prompt tok', 'completion tok', 'cost', 'reserve/episode', ...(t.replay ? ['recorded'] : [])],
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
        priced ? reserve(r.reservation) : '-',
        ...(t.replay ? [r.recorded ?? 0] : []),
      ]),
    ),
    '',
    `generation totals: ${count(plan.totals.questions)} questions, ${count(plan.totals.episodes)} episodes in ${count(plan.totals.shards)} shards`,
    `  model calls ${range(plan.totals.calls)}, searches ${range(plan.totals.searches)}`,
    `  tokens: prompt ${range({ typical: plan.totals.tokens.typical.prompt, upper: plan.totals.tokens.upper.prompt })}, completion ${range({ typical: plan.totals.tokens.typical.completion, upper: plan.totals.tokens.upper.completion })}`,
    ...plan.models.map((m) =>
      m.flags.includes('unpriced')
        ? `  ${m.role} ${m.name} (${m.model}): unpriced ($0)`
        : m.batch
          ? `  ${m.role} ${m.name} (${m.model}): ${usdRange(m.costUsd)} through the Batch API (${m.batch.discount * 100}% of ${m.priceKey} list prices); synchronous calls would cost ${usdRange(m.batch.syncCostUsd)}`
          : `  ${m.role} ${m.name} (${m.model}): ${usdRange(m.costUsd)} at ${m.priceKey} prices`,
    ),
    '',
    'datasets',
    ...table(
      ['name', 'tasks', 'methods', 'formats', 'from episodes', 'records at most'],
      plan.datasets.map((d) => [d.name, d.tasks.join(','), d.methods.join(','), d.formats.join(','), d.episodes, d.recordsAtMost]),
    ),
    '',
    ...fineTuneLines(plan),
    ...gpuMemoryLines(plan),
    '',
    ...evaluationLines(plan),
    '',
    'cost',
    `  generate ${usdRange(plan.cost.generate)}, fine-tune ${usdRange(plan.cost.fineTune)}, evaluate ${usdRange(plan.cost.evaluate)}`,
    `  total ${usdRange(plan.cost.total)}`,
    ...plan.cost.unpriced.map((u) => `  not priced: ${u}`),
    '',
    'budget (model calls of generation and evaluation; fine-tuning is not metered)',
    '  each episode reserves its upper bound (reserve/episode) before it starts and gives back what it does not pay;',
    `  all of them at once: ${usd(plan.budget.reservesUsd)} / ${count(plan.budget.reservesTokens)} tokens, so a cap that large never pauses`,
    `  ${plan.budget.cap ? `this config's cap: ${[plan.budget.cap.usd !== undefined ? `$${plan.budget.cap.usd}` : '', plan.budget.cap.tokens !== undefined ? `${count(plan.budget.cap.tokens)} tokens` : ''].filter(Boolean).join(' and ')}` : 'this config sets no budget'}`,
    '',
    'estimates assume:',
    ...plan.assumptions.map((a) => `  - ${a}`),
  ];
  if (plan.warnings.length) lines.push('', 'warnings:', ...plan.warnings.map((w) => `  - ${w}`));
  if (plan.problems.length) lines.push('', `problems (${plan.problems.length}):`, ...plan.problems.map((p) => `  - ${p}`));
  else lines.push('', 'no problems found');
  return lines.join('\n');
}

export interface Checks {
  /** What would make the experiment fail or waste its spend: validate exits 1, start refuses (unless --force). */
  problems: string[];
  warnings: string[];
}

/**
 * The checks validate, plan and start share, read off the plan: its problems, less the secrets missing
 * on this machine (the worker has its own environment), which become warnings.
 */
function checksOf(plan: ExperimentPlan): Checks {
  const environment = new Set(plan.environmentProblems);
  return {
    problems: plan.problems.filter((p) => !environment.has(p)),
    warnings: [...plan.warnings, ...plan.environmentProblems],
  };
}

/** `gpuFirst` (validate, start): a local student that cannot fit its GPUs is refused as a bad field, before planning. */
export async function checkConfigFile(file: string, gpuFirst = true): Promise<{ config: ExperimentConfig; workflowInput: boolean; plan: ExperimentPlan; checks: Checks }> {
  const { config, workflowInput } = await loadConfigFileWithInfo(file);
  if (gpuFirst) await refuseGpuMisfit(file, config);
  const plan = await planExperiment(config, createClientProvider(process.env), { env: process.env });
  return { config, workflowInput, plan, checks: checksOf(plan) };
}

export function printChecks(checks: Checks, out: NodeJS.WritableStream): void {
  for (const w of checks.warnings) out.write(`warning: ${w}\n`);
  for (const p of checks.problems) out.write(`problem: ${p}\n`);
}

export async function validateCommand(file: string): Promise<number> {
  const { config, workflowInput, checks } = await checkConfigFile(file);
  printChecks(checks, process.stderr);
  const what = workflowInput ? `a workflow input ({"config": …}, as \`temporal workflow start --input-file\` takes); its config` : 'config';
  if (checks.problems.length) {
    console.error(`${file}: ${what} has ${checks.problems.length} problem(s); \`fireact start\` refuses it unless --force`);
    return 1;
  }
  console.log(`${file}: ${what} is valid (experiment "${config.name}", ${config.generate.tasks.length} task entries, ${config.datasets.length} dataset mixes)`);
  return 0;
}

export async function planCommand(file: string, opts: { json: boolean }): Promise<number> {
  const { plan } = await checkConfigFile(file, false);
  if (opts.json) {
    console.log(JSON.stringify(plan, null, 2));
    for (const p of plan.problems) console.error(`problem: ${p}`);
  } else {
    console.log(renderPlan(plan));
  }
  return plan.problems.length ? 1 : 0;
}
