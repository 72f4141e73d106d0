// Heartbeats on a timer while an activity runs, so a killed worker is noticed within the heartbeat
// timeout even while one slow model call is in flight; details carry the latest progress.
import { Context } from '@temporalio/activity';

export function startHeartbeat(initial?: unknown, everyMs = 3000) {
  const ctx = Context.current();
  let details = initial;
  ctx.heartbeat(details);
  const timer = setInterval(() => ctx.heartbeat(details), everyMs);
  timer.unref();
  return {
    /** New progress, heartbeated at once (the SDK throttles what actually goes to the server). */
    update(next: unknown) {
      details = next;
      ctx.heartbeat(details);
    },
    stop() {
      clearInterval(timer);
    },
  };
}
