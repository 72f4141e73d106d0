// Heartbeats on a timer while an activity runs, so a killed worker is noticed within the heartbeat
// timeout even while one slow model call is in flight; details carry the latest progress.
import { Context } from '@temporalio/activity';

/** When each running activity last reported progress (an `update`); read by the worker's blocked check. */
const progressAt = new WeakMap<Context, number>();

/** Put in the details of every update, so the next attempt knows when the last one progressed. */
interface ProgressStamp {
  progressAt?: number;
}

export interface HeartbeatOptions {
  /**
   * Only the timer sends (default false: the first beat and every update go at once, throttled by
   * the SDK). For short, numerous activities (episodes): one shorter than the interval sends none,
   * since Temporal's heartbeat timeout counts from the start, and a progress update costs nothing.
   */
  lazy?: boolean;
}

export function startHeartbeat(initial?: unknown, everyMs = 3000, opts: HeartbeatOptions = {}) {
  const ctx = Context.current();
  let details = initial;
  if (!opts.lazy) ctx.heartbeat(details);
  const timer = setInterval(() => ctx.heartbeat(details), everyMs);
  timer.unref();
  return {
    /** New progress: heartbeated at once (the SDK throttles what actually goes to the server), or with the next timed beat when lazy. */
    update(next: unknown) {
      const now = Date.now();
      progressAt.set(ctx, now);
      details = next && typeof next === 'object' && !Array.isArray(next) ? { ...next, progressAt: now } : next;
      if (!opts.lazy) ctx.heartbeat(details);
    },
    stop() {
      clearInterval(timer);
    },
  };
}

/** When this activity last made progress, in this attempt or (from its heartbeat details) an earlier one. */
export function lastProgressMs(ctx: Context): number | undefined {
  const earlier = (ctx.info.heartbeatDetails as ProgressStamp | undefined)?.progressAt;
  const now = progressAt.get(ctx);
  const known = [earlier, now].filter((v): v is number => typeof v === 'number');
  return known.length ? Math.max(...known) : undefined;
}

/**
 * For a long loop over records: call `tick()` after each; at most every `everyMs` it reports `progress`
 * and lets timers run (the heartbeat), so CPU-bound stretches never starve them.
 */
export function progressTicker(heartbeat: { update(next: unknown): void }, progress: object, everyMs = 50) {
  let last = Date.now();
  return async function tick(): Promise<void> {
    if (Date.now() - last < everyMs) return;
    heartbeat.update(progress);
    await new Promise((r) => setImmediate(r));
    last = Date.now();
  };
}
