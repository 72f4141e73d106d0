// One (task, method, shard) of generation through the Batch API. Each round drives the shard's open
// episodes, sends their next requests as batches (ids in history), waits on durable timers with a
// status check that backs off, applies the answers, and goes on until every episode is finished or
// the straggler rule hands the last ones to the synchronous episode activity. Same input and result
// as GenerateShard, so the experiment's budget, blocked and cancel handling apply unchanged.
import { ActivityFailure, ApplicationFailure, CancellationScope, continueAsNew, isCancellation, log, proxyActivities, setCurrentDetails, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { BatchRef, BatchRoundResult, BatchShardInput, BatchShardResult } from '../activities/contracts';
import { profiles } from '../core/activity-profiles';
import { add, fits, type Amount, type BudgetExhaustedDetails, type Cap } from '../core/budget';
import { ErrorType } from '../core/errors';
import { shardName } from '../core/ids';
import { shardProgressQuery, type BatchTotals, type ShardProgress } from '../core/progress';

const { submitBatchRound, applyBatchRound } = proxyActivities<Activities>(profiles.batchRound);
const { batchStatus } = proxyActivities<Activities>(profiles.batchPoll);
const { cancelBatches } = proxyActivities<Activities>(profiles.quick);
const { runEpisode } = proxyActivities<Activities>(profiles.llmCall);

const TERMINAL = ['completed', 'failed', 'expired', 'cancelled'];

export type { BatchShardInput, BatchShardResult, BatchTotals };

/** How many of the shard's episodes the allowance funds at one reservation each. */
function funded(allowance: Cap, perEpisode: Amount, n: number): number {
  let k = 0;
  while (k < n && fits({ usd: perEpisode.usd * (k + 1), tokens: perEpisode.tokens * (k + 1) }, allowance)) k++;
  return k;
}

export async function GenerateBatch(input: BatchShardInput): Promise<BatchShardResult> {
  const { plan, handle, budget } = input;
  const name = shardName(plan.task, plan.split, plan.method, plan.shard);
  const from = input.from ?? plan.start;
  // With a budget, the shard drives only the episodes its grant funds, and stops at the first one that outgrows.
  let until = input.until ?? (budget ? from + funded(budget.allowance, budget.perEpisode, plan.end - from) : plan.end);
  const allowance: Cap | undefined = budget && {
    usd: budget.allowance.usd === undefined ? undefined : budget.perEpisode.usd,
    tokens: budget.allowance.tokens === undefined ? undefined : budget.perEpisode.tokens,
  };
  let spent: Amount = input.spent ?? { usd: 0, tokens: 0 };
  let outgrew: Amount | undefined;
  const totals: BatchTotals = { ...(input.batchTotals ?? { batches: 0, rounds: 0, requests: 0, failedRequests: 0, syncEpisodes: 0 }) };
  let round = input.round ?? 1;
  let last: BatchRoundResult | undefined;
  let open: BatchRef[] = [];
  let failedEpisodes = 0;
  let reused = input.reused;

  setHandler(shardProgressQuery, (): ShardProgress => ({
    shard: name,
    done: last?.finished ?? 0,
    total: plan.end - plan.start,
    succeeded: last?.succeeded ?? 0,
    failed: failedEpisodes,
    run: round,
  }));

  const submit = (tallyOnly = false) =>
    submitBatchRound.executeWithOptions({ ...profiles.batchRound, summary: `${plan.task} ${plan.split} ${plan.method}: batch round ${round}${tallyOnly ? ' (tally)' : ''}` }, [
      { handle, plan, round, from, until, ...(allowance ? { allowance } : {}), ...(tallyOnly ? { tallyOnly } : {}) },
    ]);

  try {
    for (;;) {
      const r = await submit();
      last = r;
      reused ??= r.reused;
      spent = add(spent, r.paid);
      if (r.outgrew && r.outgrew.index < until) {
        // Not a failure: the experiment reserves more and runs the shard again from there (earlier turns come from the cache).
        until = r.outgrew.index;
        spent = add(spent, r.outgrew.details.paid);
        outgrew = r.outgrew.details.need;
      }
      if (r.pending.filter((i) => i < until).length === 0) break;
      if (r.sync) {
        // Stragglers: the synchronous activity finishes them (their answered turns come from the cache).
        const stragglers = r.pending.filter((i) => i < until);
        totals.syncEpisodes += stragglers.length;
        let nextStraggler = 0;
        const runStraggler = (index: number) =>
          runEpisode
            .executeWithOptions({ ...profiles.llmCall, summary: `${plan.task} ${plan.split} ${plan.method} question #${index} (straggler)` }, [
              { handle, task: plan.task, method: plan.method, samplePath: plan.samplePath, index, ...(allowance ? { allowance } : {}) },
            ])
            .then((s) => {
              spent = add(spent, s.paid ?? { usd: 0, tokens: 0 });
            })
            .catch((err: unknown) => {
              if (isCancellation(err)) throw err;
              const cause = err instanceof ActivityFailure ? err.cause : undefined;
              if (cause instanceof ApplicationFailure && cause.type === ErrorType.BudgetExhausted) {
                // Not a failure: the shard stops there and runs again once the experiment grants more.
                const d = cause.details?.[0] as BudgetExhaustedDetails | undefined;
                if (d) {
                  spent = add(spent, d.paid);
                  outgrew = d.need;
                }
                until = Math.min(until, index);
                return;
              }
              failedEpisodes += 1;
              log.warn('straggler episode failed', { shard: name, index, error: String(err) });
            });
        // At most the shard's episode concurrency at once, as a synchronous shard runs them.
        const lane = async () => {
          while (nextStraggler < stragglers.length) await runStraggler(stragglers[nextStraggler++]);
        };
        await Promise.all(Array.from({ length: Math.min(input.concurrency, stragglers.length) }, lane));
        last = await submit(true);
        break;
      }
      open = r.batches;
      totals.rounds += 1;
      totals.batches += r.batches.length;
      totals.requests += r.requests;
      // The durable wait: timers survive anything; the status check is cheap and backs off to pollMax.
      let delay = input.poll.minSeconds;
      for (;;) {
        await sleep(Math.round(delay * 1000));
        const states = await batchStatus({ handle, ids: open.map((b) => b.id) });
        if (states.every((s) => TERMINAL.includes(s.status))) {
          for (const s of states) if (s.status !== 'completed') log.warn('batch ended without completing', { shard: name, id: s.id, status: s.status, errors: s.errors });
          // A refused input file would be refused again next round: stop the shard with the provider's reasons.
          const refused = states.find((s) => s.status === 'failed');
          if (refused) {
            throw ApplicationFailure.create({
              type: ErrorType.ModelBadRequest,
              nonRetryable: true,
              message: `batch ${refused.id} (${open.find((b) => b.id === refused.id)?.key}) was refused by the provider: ${refused.errors.join('; ') || 'no reason given'}`,
            });
          }
          break;
        }
        delay = Math.min(input.poll.maxSeconds, delay * 2);
        // Shown by the UI for this shard while it waits.
        setCurrentDetails(`round ${round}: ${states.map((s) => `${s.id} ${s.status} (${s.counts.completed + s.counts.failed}/${s.counts.total})`).join(', ')}; next check in ${delay} s`);
      }
      setCurrentDetails('');
      const applied = await applyBatchRound({ handle, plan, round, batches: open });
      totals.failedRequests += applied.failed;
      open = [];
      round += 1;
      const info = workflowInfo();
      if (info.historyLength > input.continueAsNewAfterEvents || info.continueAsNewSuggested) {
        await continueAsNew<typeof GenerateBatch>({ ...input, round, batchTotals: totals, spent, until, reused });
      }
    }
  } catch (err) {
    if (isCancellation(err) && open.length) {
      // Cancelling the experiment cancels the batches it has open (they would otherwise run, and be paid for, for a day).
      const ids = open.map((b) => b.id);
      await CancellationScope.nonCancellable(() => cancelBatches({ handle, ids }));
    }
    throw err;
  }

  const end = Math.min(until, plan.end);
  const tally = last!;
  return {
    shard: name,
    episodes: end - from,
    succeeded: tally.succeeded,
    failed: failedEpisodes,
    calls: tally.calls,
    cachedCalls: tally.cachedCalls,
    reused: reused ?? 0,
    runs: round,
    batch: totals,
    ...(budget ? { spent, ...(end < plan.end ? { stoppedAt: end } : {}), ...(outgrew ? { outgrew } : {}) } : {}),
  };
}
