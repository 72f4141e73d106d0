// The one list of typed failure types. Activities throw ApplicationFailure with these; retry policies name them.
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
];
