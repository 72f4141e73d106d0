// One (task, method, shard) of generation: runs its episodes with bounded concurrency and continues
// as new when its history grows, so a shard of any size stays far inside Temporal's limits.
import { ActivityFailure, ApplicationFailure, continueAsNew, isCancellation, log, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { profiles } from '../core/activity-profiles';
import { add, fits, room, sub, ZERO, type Amount, type BudgetExhaustedDetails, type Cap } from '../core/budget';
import { ErrorType } from '../core/errors';
import { shardName } from '../core/ids';
import { shardProgressQuery, type ShardProgress } from '../core/progress';
import type { EpisodesResult, EpisodeSummary, ShardInput, ShardResult } from '../activities/contracts';

const { runEpisode, runEpisodes } = proxyActivities<Activities>(profiles.llmCall);

// Blocked: the episode made no progress for blockedAfterSeconds; its neighbours meet the same cause,
// so the shard stops and the experiment pauses, then runs the shard again (finished episodes are reused).
const FATAL_EPISODE_ERRORS: string[] = [
  ErrorType.ModelAuth,
  ErrorType.ModelNotFound,
  ErrorType.ModelBadRequest,
  ErrorType.MissingSecret,
  ErrorType.InvalidConfig,
  ErrorType.PathRefused,
  ErrorType.Blocked,
];

function budgetDetails(err: unknown): BudgetExhaustedDetails | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if (cause instanceof ApplicationFailure && cause.type === ErrorType.BudgetExhausted) return cause.details?.[0] as BudgetExhaustedDetails;
  return undefined;
}

export async function GenerateShard(input: ShardInput): Promise<ShardResult> {
  const { plan } = input;
  const name = shardName(plan.task, plan.split, plan.method, plan.shard);
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

  // Budget: each episode reserves its worst case before it starts and gives back what it did not pay;
  // the shard launches only what fits its allowance and stops (returns) when the next one would not.
  const budget = input.budget !== undefined && patched('budget') ? input.budget : undefined;
  let spent = input.spent ?? ZERO;
  let reserved = ZERO;
  let stoppedAt: number | undefined;
  let outgrew: Amount | undefined;
  const completed: Array<{ index: number; s: EpisodeSummary }> = [];
  const episodeAllowance: Cap | undefined = budget && {
    usd: budget.allowance.usd === undefined ? undefined : budget.perEpisode.usd,
    tokens: budget.allowance.tokens === undefined ? undefined : budget.perEpisode.tokens,
  };
  const canLaunch = () => fatal === undefined && (!budget || (stoppedAt === undefined && fits(budget.perEpisode, room(budget.allowance, add(spent, reserved)))));
  const count = (s: EpisodeSummary, sign: 1 | -1) => {
    if (s.reward === 1) totals.succeeded += sign;
    totals.calls += sign * s.calls;
    totals.cachedCalls += sign * s.cachedCalls;
    if (s.reused) totals.reused += sign;
  };

  // Several episodes per activity: a fraction of the round trips and history events per episode. The
  // budget's per-episode reservations keep one per activity.
  const perActivity = !budget && (input.episodesPerActivity ?? 1) > 1 && patched('episode-chunks') ? input.episodesPerActivity! : 1;
  const inFlight = new Set<Promise<void>>();
  let running = 0; // episodes in flight
  let cancelled: unknown;
  // A model or setup error that every episode would meet (bad key, unknown model, bad request): stop
  // launching and fail the shard with that message, instead of meeting it once per question.
  let fatal: ApplicationFailure | undefined;
  const launch = (index: number) => {
    running += 1;
    if (budget) reserved = add(reserved, budget.perEpisode);
    const p: Promise<void> = runEpisode
      .executeWithOptions({ ...profiles.llmCall, summary: `${plan.task} ${plan.split} ${plan.method} question #${index}` }, [
        { handle: input.handle, task: plan.task, method: plan.method, samplePath: plan.samplePath, index, ...(episodeAllowance ? { allowance: episodeAllowance } : {}) },
      ])
      .then((s) => {
        count(s, 1);
        if (budget) {
          spent = add(spent, s.paid ?? ZERO);
          completed.push({ index, s });
        }
      })
      .catch((err: unknown) => {
        // Cancellation stops the shard; an episode that fails for good is counted (curation reports it missing).
        if (isCancellation(err)) {
          cancelled ??= err;
          return;
        }
        const refused = budget && budgetDetails(err);
        if (refused) {
          // Not a failure: the episode is run again, from its cached turns, once the experiment grants more.
          spent = add(spent, refused.paid);
          stoppedAt = Math.min(stoppedAt ?? index, index);
          outgrew = refused.need;
          return;
        }
        totals.failed += 1;
        log.warn('episode failed', { shard: name, index, error: String(err) });
        const cause = err instanceof ActivityFailure ? err.cause : undefined;
        if (!fatal && cause instanceof ApplicationFailure && FATAL_EPISODE_ERRORS.includes(cause.type ?? '') && patched('shard-stops-on-fatal-error')) fatal = cause;
      })
      .finally(() => {
        if (budget) reserved = sub(reserved, budget.perEpisode);
        done += 1;
        running -= 1;
        inFlight.delete(p);
      });
    inFlight.add(p);
  };
  const stopOnFatal = (cause: unknown) => {
    if (!fatal && cause instanceof ApplicationFailure && FATAL_EPISODE_ERRORS.includes(cause.type ?? '')) fatal = cause;
  };
  const launchChunk = (from: number, to: number) => {
    running += to - from;
    const p: Promise<void> = runEpisodes
      .executeWithOptions({ ...profiles.llmCall, summary: `${plan.task} ${plan.split} ${plan.method} questions #${from}–#${to - 1}` }, [
        { handle: input.handle, task: plan.task, method: plan.method, samplePath: plan.samplePath, from, to },
      ])
      .then((r: EpisodesResult) => {
        totals.succeeded += r.succeeded;
        totals.calls += r.calls;
        totals.cachedCalls += r.cachedCalls;
        totals.reused += r.reused;
        for (const f of r.failed) {
          totals.failed += 1;
          log.warn('episode failed', { shard: name, index: f.index, error: f.message });
          if (f.type) stopOnFatal(ApplicationFailure.create({ type: f.type, message: f.message, nonRetryable: true }));
        }
      })
      .catch((err: unknown) => {
        if (isCancellation(err)) {
          cancelled ??= err;
          return;
        }
        // The activity failed as a whole (retries spent, blocked): its unfinished episodes are not
        // known here; the stored ones are reused when the shard runs again, curation reports the rest.
        totals.failed += to - from;
        log.warn('episodes failed', { shard: name, from, to, error: String(err) });
        stopOnFatal(err instanceof ActivityFailure ? err.cause : undefined);
      })
      .finally(() => {
        done += to - from;
        running -= to - from;
        inFlight.delete(p);
      });
    inFlight.add(p);
  };

  while (next < plan.end) {
    while (running < input.concurrency && next < plan.end && canLaunch()) {
      if (perActivity === 1) launch(next++);
      else {
        const to = Math.min(plan.end, next + Math.min(perActivity, input.concurrency - running));
        launchChunk(next, to);
        next = to;
      }
    }
    if (inFlight.size === 0) break; // the allowance cannot fund another episode
    await Promise.race(inFlight);
    if (cancelled !== undefined) throw cancelled;
    const info = workflowInfo();
    if (next < plan.end && (info.historyLength > input.continueAsNewAfterEvents || info.continueAsNewSuggested)) {
      await Promise.all(inFlight);
      if (stoppedAt === undefined) await continueAsNew<typeof GenerateShard>({ ...input, next, totals, ...(budget ? { spent } : {}) });
    }
  }
  await Promise.all(inFlight);
  if (cancelled !== undefined) throw cancelled;
  if (fatal) throw ApplicationFailure.create({ type: fatal.type ?? undefined, message: fatal.message, nonRetryable: true, details: fatal.details ?? undefined });
  let end = plan.end;
  if (budget && (stoppedAt !== undefined || next < plan.end)) {
    end = Math.min(stoppedAt ?? next, next);
    // Episodes past the stop are run (or reused) again when the shard resumes there: count them then.
    for (const c of completed) if (c.index >= end) count(c.s, -1);
  }
  return {
    shard: name,
    episodes: end - (input.from ?? plan.start),
    succeeded: totals.succeeded,
    failed: totals.failed,
    calls: totals.calls,
    cachedCalls: totals.cachedCalls,
    reused: totals.reused,
    runs: totals.run,
    ...(budget ? { spent, ...(end < plan.end ? { stoppedAt: end } : {}), ...(outgrew ? { outgrew } : {}) } : {}),
  };
}
