// Stage report: price the spend, set our rows beside the paper's, write report.md, report.html, summary.json.
import { generationPriced, scoringRuleFor, type TaskName } from '../core/config';
import { studentModelName } from '../core/eval-plan';
import { batchDiscount, estimateCost, mergePrices } from '../core/prices';
import type { BatchTotals } from '../core/progress';
import type { Usage } from '../core/trajectory';
import type { ClientProvider } from '../lib/experiment/clients';
import type { ExperimentHandle, FrozenState } from '../lib/experiment/frozen';
import { experimentDir } from '../lib/experiment/layout';
import { comparePaper } from '../lib/report/paper';
import type { ReportInput, SpendRow } from '../lib/report/types';
import { writeReport, type ReportRefs } from '../lib/report/write-report';

export function createReportActivities(deps: { clients: ClientProvider; frozen: FrozenState }) {
  const { clients } = deps;
  const frozenConfig = deps.frozen.config;
  return {
    /** report.md, report.html and summary.json, with spend priced from the frozen config's price table. */
    async writeExperimentReport(input: {
      handle: ExperimentHandle;
      report: Omit<ReportInput, 'spend'>;
      generation: { model: { name: string; model: string; provider: string }; usage: Usage; batch?: BatchTotals };
    }): Promise<ReportRefs> {
      const config = await frozenConfig(input.handle);
      const prices = mergePrices(config.prices);
      const g = input.generation;
      const priced = generationPriced(config);
      const genCost = estimateCost(priced, g.usage, prices);
      const discount = priced.batch ? batchDiscount(priced.provider) : undefined;
      const spend: SpendRow[] = [
        {
          model: g.model.name,
          stage: 'generate',
          calls: g.usage.calls,
          cachedCalls: g.usage.cachedCalls,
          promptTokens: g.usage.promptTokens,
          completionTokens: g.usage.completionTokens,
          costUsd: genCost.usd,
          unpriced: genCost.flags.includes('unpriced'),
          ...(discount && g.batch ? { batch: { ...g.batch, discount, syncCostUsd: estimateCost({ ...priced, batch: false }, g.usage, prices).usd } } : {}),
        },
        ...input.report.evaluation.map((r) => ({
          model: r.model,
          stage: `evaluate ${r.task} ${r.method}${r.noise === 'none' ? '' : ` (${r.noise})`}`,
          calls: 0,
          cachedCalls: 0,
          promptTokens: r.promptTokens,
          completionTokens: r.completionTokens,
          costUsd: r.costUsd,
          unpriced: r.costUsd === 0,
        })),
      ];
      // Rows of evaluations from before scoring rules existed were scored by today's lenient rule, the config default.
      const evaluation = input.report.evaluation.map((r) => ({ ...r, scoring: r.scoring ?? scoringRuleFor(config, r.task as TaskName) }));
      const paper = comparePaper({
        rows: evaluation,
        samples: (config.evaluate?.tasks ?? []).map((t) => ({ task: t.task, split: t.split, order: t.sample.order, seed: t.sample.seed ?? config.seed, n: t.sample.n, exclude: t.sample.exclude })),
        students: config.students.flatMap((s) =>
          s.datasets.map((d) => {
            const mix = config.datasets.find((m) => m.name === d)!;
            return { model: studentModelName(s.name, d), backend: s.backend, mode: s.mode, baseModel: s.baseModel, mix: { name: d, tasks: mix.tasks, methods: mix.methods } };
          }),
        ),
        teacher: config.models[config.generate.teacher].model,
      });
      return writeReport(clients.store(config), experimentDir(input.handle.experiment), { ...input.report, evaluation, paper, spend });
    },
  };
}
