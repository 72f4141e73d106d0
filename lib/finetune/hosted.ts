// The contract of a hosted fine-tuning API (OpenAI today; any service with the same life tomorrow):
// check the training file, upload it and create the job, each idempotently by a key, so a crash
// between "the provider made it" and "we recorded its id" never makes a second paid job; follow the
// job's events and checkpoints until it ends; cancel it. The activities in
// activities/finetune-hosted.ts drive any backend of FINETUNE_JOB_BACKENDS (./registry.ts) through it.
import { ErrorType, typedFailure } from '../../core/errors';

export type FineTuneStatus = 'validating_files' | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const TERMINAL_STATUSES: ReadonlySet<FineTuneStatus> = new Set<FineTuneStatus>(['succeeded', 'failed', 'cancelled']);

export interface FineTuneHyperparameters {
  n_epochs?: number | 'auto';
  batch_size?: number | 'auto';
  learning_rate_multiplier?: number | 'auto';
}

export interface CreateJobRequest {
  trainingFileId: string;
  model: string;
  suffix?: string;
  hyperparameters?: FineTuneHyperparameters;
  idempotencyKey: string;
  /**
   * Keys an earlier version of the caller gave the same job. A live job under one of them, made from
   * the same training file, is reused; none is ever created under them.
   */
  previousKeys?: string[];
  /** Extra job metadata (string values). */
  metadata?: Record<string, string>;
  signal?: AbortSignal;
}

export interface FineTuneJobInfo {
  id: string;
  status: FineTuneStatus;
  model: string;
  trainingFile: string;
  fineTunedModel: string | null;
  trainedTokens: number | null;
  error: { code: string; message: string } | null;
  metadata: Record<string, string>;
  /** True when an earlier attempt had already created this job. */
  reused: boolean;
}

export interface FineTuneCheckpoint {
  id: string;
  step: number;
  /** The checkpoint's own model name, usable for inference. */
  model: string;
  metrics: Record<string, number>;
}

export type FollowEvent =
  | { kind: 'event'; id: string; createdAt: number; level: string; message: string; type?: string; data?: unknown }
  | ({ kind: 'checkpoint' } & FineTuneCheckpoint);

/** Where a follower stands; the activity keeps it in heartbeat details so a retry resumes from it. */
export interface FollowCursor {
  lastEventId?: string;
  /** Checkpoints at or below this step have been reported. */
  lastCheckpointStep: number;
}

export interface FollowOptions {
  onEvent?: (event: FollowEvent, cursor: FollowCursor) => void | Promise<void>;
  /** Called after every status poll (the activity heartbeats here too). */
  onPoll?: (job: FineTuneJobInfo, cursor: FollowCursor) => void;
  signal?: AbortSignal;
  /** Between status polls (default 10 s). */
  pollMs?: number;
  /** Resume point from an earlier follower; events up to it are not reported again. */
  from?: FollowCursor;
}

export interface FineTuneResult {
  jobId: string;
  status: 'succeeded' | 'cancelled';
  fineTunedModel: string | null;
  checkpoints: FineTuneCheckpoint[];
  trainedTokens: number | null;
  error?: { code: string; message: string };
  cursor: FollowCursor;
}

export interface FineTuneJobBackend {
  readonly baseUrl: string;
  /** Checks a training file as the service will, before anything is uploaded; throws a non-retryable BadDatasetRecord. */
  validateTrainingFile(filePath: string): Promise<{ examples: number }>;
  /** Uploads (or finds the earlier upload of) a training file and waits until the service has processed it. */
  uploadTrainingFile(filePath: string, opts: { idempotencyKey: string; signal?: AbortSignal }): Promise<string>;
  /** Creates the job, or finds the one an earlier attempt created under the same key. */
  createJob(request: CreateJobRequest): Promise<FineTuneJobInfo>;
  getJob(jobId: string, signal?: AbortSignal): Promise<FineTuneJobInfo>;
  /** Polls until the job ends; throws FineTuneFailed (non-retryable) when it failed. */
  followJob(jobId: string, opts?: FollowOptions): Promise<FineTuneResult>;
  /** Cancels a job; a job that has already ended is returned as it is. */
  cancelJob(jobId: string, signal?: AbortSignal): Promise<FineTuneJobInfo>;
}

/** What every backend is built from: the student's endpoint (absent: the service's own) and the worker's key. */
export interface FineTuneJobBackendOptions {
  baseUrl?: string;
  apiKey: string;
  fetch?: typeof fetch;
}

export type FineTuneJobBackendFactory = (opts: FineTuneJobBackendOptions) => FineTuneJobBackend;

/** Idempotency keys travel in file names and job metadata, so they keep to a safe alphabet. */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkIdempotencyKey(key: string): void {
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw typedFailure({
      type: ErrorType.InvalidConfig,
      nonRetryable: true,
      message: `fine-tuning idempotency key ${JSON.stringify(key)} must be 1-64 letters, digits, ".", "_" or "-"`,
    });
  }
}
