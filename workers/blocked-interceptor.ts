// Ends an activity that keeps failing with no progress: when a retryable failure comes longer than
// the experiment's `blockedAfterMs` after the activity last progressed (or was first scheduled), it
// is replaced by a non-retryable `Blocked` failure carrying the original one as its cause, so the
// experiment pauses the stage (core/blocked.ts) instead of retrying silently for hours.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInboundCallsInterceptor, ActivityInterceptors } from '@temporalio/worker';
import { formatDuration, type BlockedDetails } from '../core/blocked';
import { ErrorType, isRetryableFailure } from '../core/errors';
import { lastProgressMs } from '../activities/heartbeat';

/** The threshold an activity's input carries: `blockedAfterMs` on the input or on its experiment handle. */
function blockedAfterOf(arg: unknown): number | undefined {
  if (!arg || typeof arg !== 'object') return undefined;
  const a = arg as { blockedAfterMs?: unknown; handle?: { blockedAfterMs?: unknown } };
  const v = a.blockedAfterMs ?? a.handle?.blockedAfterMs;
  return typeof v === 'number' && v > 0 ? v : undefined;
}

function retryable(err: unknown, maximumAttempts: number | undefined, attempt: number): boolean {
  if (maximumAttempts && attempt >= maximumAttempts) return false; // the retry policy ends it anyway, with the real error
  return isRetryableFailure(err);
}

export function blockedInterceptor(ctx: Context): ActivityInterceptors {
  const inbound: ActivityInboundCallsInterceptor = {
    async execute(input, next) {
      try {
        return await next(input);
      } catch (err) {
        const after = blockedAfterOf(input.args[0]);
        const info = ctx.info;
        if (after === undefined || ctx.cancellationSignal.aborted || !retryable(err, info.retryPolicy?.maximumAttempts, info.attempt)) throw err;
        const since = Math.max(info.scheduledTimestampMs, lastProgressMs(ctx) ?? 0);
        const stuck = Date.now() - since;
        if (stuck < after) throw err;
        const e = err instanceof Error ? err : new Error(String(err));
        const details: BlockedDetails = {
          activity: info.activityType,
          attempt: info.attempt,
          since: new Date(since).toISOString(),
          lastError: e.message,
          ...(err instanceof ApplicationFailure && err.type ? { lastErrorType: err.type } : {}),
        };
        throw ApplicationFailure.create({
          type: ErrorType.Blocked,
          nonRetryable: true,
          message: `${info.activityType} made no progress for ${formatDuration(stuck)} (attempt ${info.attempt}); last error: ${e.message}`,
          details: [details],
          cause: e,
        });
      }
    },
  };
  return { inbound };
}
