// The experiment's budget ledger, workflow side (patched 'budget'): `raiseBudget`, grants to shards and
// evaluations, their settlements, and the pause when nothing runs and the next piece of work cannot be
// funded. Ledger state is workflow state, rebuilt by replay; the arithmetic is core/budget.ts.
import { condition, log, setHandler } from '@temporalio/workflow';
import type { EvalTarget } from '../activities/contracts';
import { checkRaise, createLedger, evalReservation, isZero, legacyEpisodeWorstCase, PAUSED_BUDGET_STAGE, raiseBudgetUpdate, ZERO, type Amount, type BudgetPlan, type Cap, type Ledger } from '../core/budget';
import type { ExperimentProgress, StageName } from '../core/progress';

/** One kind of work in the ledger: the model that pays, its reservation key and its base reservation. */
export interface BudgetLine {
  model: string;
  key: string;
  base: Amount;
}

/** What a shard or an evaluation may spend, and what each of its episodes reserves. */
export interface Grant {
  allowance: Cap;
  perEpisode: Amount;
}

export function createExperimentBudget(experiment: string, progress: ExperimentProgress, markStage: (value: string) => void) {
  let ledger: Ledger | undefined;
  let plan: BudgetPlan | undefined;
  /** Grants not yet settled: an evaluation pauses only when none is out. */
  let running = 0;

  setHandler(
    raiseBudgetUpdate,
    (r) => {
      ledger!.raise(r);
      progress.budget = ledger!.state(progress.paused !== undefined);
      return progress.budget;
    },
    {
      validator: (r) => {
        if (!ledger) throw new Error(`experiment ${experiment} has no budget to raise (none configured, its teacher costs nothing, or it has not been prepared yet)`);
        const cap = ledger.capFor(r.model);
        if (!cap) throw new Error(`model "${r.model}" has no cap of its own in this experiment`);
        const problem = checkRaise(r, cap);
        if (problem) throw new Error(problem);
      },
    },
  );

  const need = (line: BudgetLine): Amount => ledger!.reservation(line.key, line.base);
  const fundable = (line: BudgetLine): boolean => ledger!.canStart(line.model, need(line));

  /** Nothing runs and `line`'s next piece of work does not fit: pause (not fail) until a raise makes room. */
  async function pause(line: BudgetLine, what: string, stage: StageName): Promise<void> {
    const l = ledger!;
    progress.paused = l.pause(line.model, need(line), what, stage, new Date().toISOString());
    progress.budget = l.state(true);
    markStage(PAUSED_BUDGET_STAGE);
    log.info('paused for budget', { experiment, reason: progress.paused.reason });
    await condition(() => fundable(line));
    delete progress.paused;
    progress.budget = l.state(false);
    markStage(stage);
  }

  /** Reserves `episodes` of `line`'s work at its current reservation. */
  function grant(line: BudgetLine, episodes: number): Grant {
    const perEpisode = need(line);
    running += 1;
    return { allowance: ledger!.grant(line.model, perEpisode, episodes), perEpisode };
  }

  return {
    /** Starts the ledger from what prepare planned. */
    open(budgetPlan: BudgetPlan): void {
      plan = budgetPlan;
      ledger = createLedger(budgetPlan);
      progress.budget = ledger.state(false);
    },

    /** A generation method's line, when the teacher costs anything. */
    generation(method: string): BudgetLine | undefined {
      if (!ledger || !plan) return undefined;
      const base = plan.generate[method] ?? ZERO;
      return isZero(base) ? undefined : { model: plan.teacher, key: `generate/${method}`, base };
    },

    /** An evaluation target's line, when it costs anything (local models do not). */
    evaluation(target: EvalTarget): BudgetLine | undefined {
      if (!ledger || !plan?.evaluate || target.local) return undefined;
      // An OpenAI fine-tune is reached with ModelSchema's default maxTokens (512), as evaluateModel builds it.
      const m = target.configModel ? plan.models[target.configModel] : target.openai ? { provider: 'openai', model: target.openai.model, maxTokens: 512 } : undefined;
      if (!m) return undefined;
      // Prepare measured the first prompts (the one cost model, as plan shows it); an experiment prepared
      // before that carries no measurements and keeps the reservations its history was made with.
      const base = plan.evaluate.prompts
        ? evalReservation(m, target.method, target.prompt, plan)
        : legacyEpisodeWorstCase(m, { method: target.method, ...plan.evaluate, maxTokens: m.maxTokens }, plan.prices);
      const model = target.configModel ?? target.name;
      return isZero(base) ? undefined : { model, key: `evaluate/${model}/${target.method}`, base };
    },

    fundable,
    grant,
    pause,

    /** Waits until the ledger funds one episode of `line`, pausing the experiment when nothing else runs, then grants `episodes`. */
    async admit(line: BudgetLine, episodes: number, what: string, stage: StageName): Promise<Grant> {
      while (!fundable(line)) {
        if (running === 0 && !progress.paused) await pause(line, what, stage);
        else await condition(() => fundable(line) || (running === 0 && !progress.paused));
      }
      return grant(line, episodes);
    },

    /** Books what a grant's work paid, and a larger reservation for `line` when an episode outgrew it. */
    settle(line: BudgetLine, given: Grant, paid: Amount, outgrew?: Amount): void {
      running -= 1;
      ledger!.settle(line.model, given.allowance, paid);
      if (outgrew) ledger!.outgrew(line.key, line.base, outgrew);
      progress.budget = ledger!.state(progress.paused !== undefined);
    },
  };
}
