// The one list of typed failure types, and the one place typed failures are built. They are Temporal's
// ApplicationFailure (its type is what retry policies, the interceptor and the UI read), so the domain
// library (lib/) throws them from here and imports nothing of Temporal itself.
import { ApplicationFailure, CancelledFailure, type ApplicationFailureOptions } from '@temporalio/common';

export const ErrorType = {
  InvalidConfig: 'InvalidConfig',
  /** An experiment id that cannot name its artifact folder (core/ids.ts `experimentIdProblem`). */
  InvalidExperimentId: 'InvalidExperimentId',
  MissingData: 'MissingData',
  MissingSecret: 'MissingSecret',
  ModelBadRequest: 'ModelBadRequest',
  ModelAuth: 'ModelAuth',
  ModelNotFound: 'ModelNotFound',
  ModelRateLimited: 'ModelRateLimited',
  ModelUnavailable: 'ModelUnavailable',
  ReplayMiss: 'ReplayMiss',
  ToolFailed: 'ToolFailed',
  ArtifactCorrupt: 'ArtifactCorrupt',
  ArtifactWriteFailed: 'ArtifactWriteFailed',
  BadDatasetRecord: 'BadDatasetRecord',
  /** A fine-tuning job that ended in failure on the provider's side (bad data, quota, internal error). */
  FineTuneFailed: 'FineTuneFailed',
  /** An episode whose worst-case cost does not fit the allowance it was given; the workflow pauses, not retries. */
  BudgetExhausted: 'BudgetExhausted',
  /** The trainer process failed (crash, out of memory, disk full): a retry resumes from its newest checkpoint. */
  TrainerFailed: 'TrainerFailed',
  /** The trainer refused its input (no examples, nothing left to learn from, bad arguments): a retry meets the same input. */
  TrainerBadInput: 'TrainerBadInput',
  /** The file system refuses a path itself (name too long, not a folder): a retry asks for the same path. */
  PathRefused: 'PathRefused',
  /** An activity kept failing with no progress for longer than the config's `blockedAfterSeconds`; the experiment pauses as `blocked`. */
  Blocked: 'Blocked',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** Failures no retry can fix. */
export const NON_RETRYABLE_ERRORS: ErrorType[] = [
  ErrorType.InvalidConfig,
  ErrorType.InvalidExperimentId,
  ErrorType.MissingData,
  ErrorType.MissingSecret,
  ErrorType.ModelBadRequest,
  ErrorType.ModelAuth,
  ErrorType.ModelNotFound,
  ErrorType.BadDatasetRecord,
  ErrorType.FineTuneFailed,
  ErrorType.BudgetExhausted,
  ErrorType.TrainerBadInput,
  ErrorType.PathRefused,
  ErrorType.Blocked,
];

/** A failure carrying one of the types above. */
export type TypedFailure = ApplicationFailure;

export function typedFailure(options: ApplicationFailureOptions & { type: ErrorType }): TypedFailure {
  return ApplicationFailure.create(options);
}

/** True for a typed failure (of `type`, when given). */
export function isTypedFailure(err: unknown, type?: ErrorType): err is TypedFailure {
  return err instanceof ApplicationFailure && (type === undefined || err.type === type);
}

/** Whether a retry may heal this failure: not a cancellation, not marked non-retryable, not of a type above. */
export function isRetryableFailure(err: unknown): boolean {
  if (err instanceof CancelledFailure) return false;
  if (err instanceof ApplicationFailure) return !err.nonRetryable && !NON_RETRYABLE_ERRORS.includes((err.type ?? '') as ErrorType);
  return true;
}
