// One (task, method, shard) of generation: runs its episodes with bounded concurrency and continues
// as new when its history grows, so a shard of any size stays far inside Temporal's limits.
import { continueAsNew, isCancellation, log, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities, ShardPlan } from '../activities';
import { profiles } from '../core/activity-profiles';
import { shardName } from '../core/ids';
import { shardProgressQuery, type ShardProgress } from '../core/progress';

const { runEpisode } = proxyActivities<Activities>(profiles.llmCall);

export interface ShardInput {
  handle: Parameters<Activities['runEpisode']>[0]['handle'];
  plan: ShardPlan;
  concurrency: number;
  continueAsNewAfterEvents: number;
  /** Carried across continue-as-new. */
  next?: number;
  totals?: { succeeded: number; failed: number; calls: number; cachedCalls: number; reused: number; run: number };
}

export interface ShardResult {
  shard: string;
  episodes: number;
  succeeded: number;
  failed: number;
  calls: number;
  cachedCalls: number;
  reused: number;
  runs: number;
}

export async function GenerateShard(input: ShardInput): Promise<ShardResult> {
  const { plan } = input;
  const name = shardName(plan.task, plan.method, plan.shard);
  const totals = { ...(input.totals ?? { succeeded: 0, failed: 0, calls: 0, cachedCalls: 0, reused: 0, run: 0 }) };
  totals.run += 1;
  let next = input.next ?? plan.start;
  let done = next - plan.start;

  setHandler(shardProgressQuery, (): ShardProgress => ({
    shard: name,
    done,
    total: plan.end - plan.start,
    succeeded: totals.succeeded,
    failed: totals.failed,
    run: totals.run,
  }));

  const inFlight = new Set<Promise<void>>();
  let cancelled: unknown;
  const launch = (index: number) => {
    const p: Promise<void> = runEpisode
      .executeWithOptions({ ...profiles.llmCall, summary: `${plan.task} ${plan.method} question #${index}` }, [
        { handle: input.handle, task: plan.task, method: plan.method, samplePath: plan.samplePath, index },
      ])
      .then((s) => {
        if (s.reward === 1) totals.succeeded += 1;
        totals.calls += s.calls;
        totals.cachedCalls += s.cachedCalls;
        if (s.reused) totals.reused += 1;
      })
      .catch((err: unknown) => {
        // Cancellation stops the shard; an episode that fails for good is counted (curation reports it missing).
        if (isCancellation(err)) {
          cancelled ??= err;
          return;
        }
        totals.failed += 1;
        log.warn('episode failed', { shard: name, index, error: String(err) });
      })
      .finally(() => {
        done += 1;
        inFlight.delete(p);
      });
    inFlight.add(p);
  };

  while (next < plan.end) {
    while (inFlight.size < input.concurrency && next < plan.end) launch(next++);
    await Promise.race(inFlight);
    if (cancelled !== undefined) throw cancelled;
    const info = workflowInfo();
    if (next < plan.end && (info.historyLength > input.continueAsNewAfterEvents || info.continueAsNewSuggested)) {
      await Promise.all(inFlight);
      await continueAsNew<typeof GenerateShard>({ ...input, next, totals });
    }
  }
  await Promise.all(inFlight);
  if (cancelled !== undefined) throw cancelled;
  return {
    shard: name,
    episodes: plan.end - plan.start,
    succeeded: totals.succeeded,
    failed: totals.failed,
    calls: totals.calls,
    cachedCalls: totals.cachedCalls,
    reused: totals.reused,
    runs: totals.run,
  };
}
