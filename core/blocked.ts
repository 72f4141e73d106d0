// A stage that cannot progress. An activity whose retryable failures go on longer than the config's
// `blockedAfterSeconds` with no progress is ended by its worker with a non-retryable `Blocked`
// failure (workers/blocked-interceptor.ts); the experiment then pauses that stage (FireActStage =
// `blocked`, `progress.blocked` says why) and runs the same work again once `resumeBlockedUpdate`
// arrives (`fireact resume <id>`). Activities are idempotent, so the rerun reuses what was finished.
// Pure: shared by workflows, activities, workers and the CLI.
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure } from '@temporalio/common';
import { defineUpdate } from '@temporalio/workflow';
import { ErrorType } from './errors';

/** The FireActStage value while the experiment waits for `fireact resume`. */
export const BLOCKED_STAGE = 'blocked';

/** Default of the config's `blockedAfterSeconds`: long enough for a server restart, short enough to notice overnight. */
export const DEFAULT_BLOCKED_AFTER_SECONDS = 600;

/** What the worker attaches to a `Blocked` failure. */
export interface BlockedDetails {
  activity: string;
  attempt: number;
  /** When the activity last made progress (or was first scheduled), ISO time. */
  since: string;
  lastError: string;
  lastErrorType?: string;
}

/** `progress.blocked`: set while the experiment waits to be resumed. */
export interface BlockedState {
  stage: string;
  /** When the experiment paused, ISO time. */
  pausedAt: string;
  /** The activity and the workflow (experiment or child) it ran in. */
  activity?: string;
  workflowId?: string;
  attempt?: number;
  /** When it last made progress, ISO time. */
  since?: string;
  lastError: string;
  reason: string;
}

export interface ResumeBlockedResult {
  stage: string;
  reason: string;
}

/** Resumes a blocked experiment (its validator refuses one that is not blocked). */
export const resumeBlockedUpdate = defineUpdate<ResumeBlockedResult, []>('resumeBlocked');

/** The `Blocked` failure in an error's cause chain, with the activity and workflow it came from. */
export function findBlocked(err: unknown): { failure: ApplicationFailure; details?: BlockedDetails; activity?: string; workflowId?: string } | undefined {
  let activity: string | undefined;
  let workflowId: string | undefined;
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof ChildWorkflowFailure) workflowId = e.execution.workflowId ?? workflowId;
    if (e instanceof ActivityFailure) activity = e.activityType;
    if (e instanceof ApplicationFailure && e.type === ErrorType.Blocked) {
      const details = e.details?.[0] as BlockedDetails | undefined;
      return { failure: e, details, activity: details?.activity ?? activity, workflowId };
    }
  }
  return undefined;
}

/** Human duration: 45s, 12m 5s, 3h 2m. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? ` ${s % 60}s` : ''}`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)}m` : ''}`;
}
