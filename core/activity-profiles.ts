// Named activity-option profiles: every timeout and retry policy lives here, not inline in workflows.
import type { Duration, RetryPolicy } from '@temporalio/common';
import type { ActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_ERRORS } from './errors';

const retry = (initial: Duration, maximum: Duration, maximumAttempts: number): RetryPolicy => ({
  initialInterval: initial,
  backoffCoefficient: 2,
  maximumInterval: maximum,
  maximumAttempts,
  nonRetryableErrorTypes: NON_RETRYABLE_ERRORS,
});

export const profiles = {
  /** Reading data, sampling, small writes. */
  quick: { startToCloseTimeout: '5 minutes', retry: retry('1 second', '30 seconds', 10) },
  /**
   * One agent episode: many model and tool calls, heartbeating so a dead worker is noticed within
   * 30 s. Hundreds of episodes run at once and every heartbeat is a write on the server, so they beat
   * every 10 s; a shorter timeout made episodes time out on a busy server and be paid again.
   */
  llmCall: { startToCloseTimeout: '30 minutes', heartbeatTimeout: '30 seconds', retry: retry('2 seconds', '2 minutes', 50) },
  /** A batch round: drive a shard's open episodes and upload its batches, or apply their answers; idempotent, heartbeating. */
  batchRound: { startToCloseTimeout: '1 hour', heartbeatTimeout: '30 seconds', retry: retry('2 seconds', '2 minutes', 50) },
  /**
   * A batch's status check between timers: a provider's status endpoint that is down for a while is
   * waited out (the blocked check pauses the stage if it stays down), not a reason to fail a day-long wait.
   */
  batchPoll: { startToCloseTimeout: '2 minutes', retry: retry('5 seconds', '5 minutes', 100) },
  /** Curation and dataset builds over every trajectory. */
  dataJob: { startToCloseTimeout: '1 hour', heartbeatTimeout: '1 minute', retry: retry('2 seconds', '1 minute', 10) },
  /** Fine-tuning (a local trainer or a remote job): long, resumed on retry; heartbeats come from a timer, so a dead worker shows in 30 s. */
  longJob: { startToCloseTimeout: '7 days', heartbeatTimeout: '30 seconds', retry: retry('10 seconds', '5 minutes', 100) },
  /** Evaluating one model on one task and method, its server included. */
  evalJob: { startToCloseTimeout: '12 hours', heartbeatTimeout: '30 seconds', retry: retry('5 seconds', '2 minutes', 20) },
} satisfies Record<string, ActivityOptions>;
