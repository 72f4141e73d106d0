// A hosted fine-tuning job (any backend of FINETUNE_JOB_BACKENDS, picked by the input's `backend`) as
// three Temporal activities. "start" validates, uploads and creates (each step finds an earlier
// attempt's work first), and returns the job id for the workflow to keep in history; "follow" watches
// that job, heartbeating its place in the event stream so a retried follower picks up where the last
// one stopped; "cancel" is for the workflow's cancellation scope. Keys come from the worker's
// environment by name, never from activity input.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ModelConfig } from '../core/config';
import { ErrorType } from '../core/errors';
import { createArtifactStore, type ArtifactStore } from '../lib/artifacts/store';
import type { HostedFineTuneBackendName } from '../core/names';
import { startHeartbeat } from './heartbeat';
import { resolveApiKey } from '../lib/models/openai-model';
import type { FineTuneJobBackend, FineTuneStatus, FollowCursor, FollowEvent } from '../lib/finetune/hosted';
import { FINETUNE_JOB_BACKENDS } from '../lib/finetune/registry';
import type {
  CancelHostedFineTuneInput,
  FollowHeartbeat,
  FollowHostedFineTuneInput,
  FollowHostedFineTuneResult,
  HostedEndpointInput,
  LegacyOpenAIInput,
  StartHostedFineTuneInput,
  StartHostedFineTuneResult,
} from './contracts';

/** What picks the backend, endpoint and key: the student config fields that matter here. */
type FineTuneEndpoint = Pick<ModelConfig, 'model' | 'baseUrl' | 'apiKeyEnv'> & { backend: HostedFineTuneBackendName };

interface HostedFineTuneActivityOptions {
  /** Defaults to the backend's real client with the key from `env` (by the config's apiKeyEnv). */
  backendFor?: (endpoint: FineTuneEndpoint) => FineTuneJobBackend;
  env?: NodeJS.ProcessEnv;
  store?: (artifactDir: string) => ArtifactStore;
}

/** Upload name key: a prefix of the dataset hash, so one dataset is uploaded once whoever asks. */
export function uploadKeyFor(datasetSha256: string): string {
  return `fireact-ds-${datasetSha256.slice(0, 24)}`;
}

function readResumePoint(details: unknown, jobId: string): FollowCursor | undefined {
  if (!details || typeof details !== 'object') return undefined;
  const d = details as Partial<FollowHeartbeat>;
  if (d.jobId !== jobId) return undefined;
  return {
    lastEventId: typeof d.lastEventId === 'string' ? d.lastEventId : undefined,
    lastCheckpointStep: typeof d.lastCheckpointStep === 'number' ? d.lastCheckpointStep : 0,
  };
}

function describeEvent(e: FollowEvent): string {
  return e.kind === 'event' ? `${e.level}: ${e.message}` : `checkpoint at step ${e.step}: ${e.model}`;
}

export function createHostedFineTuneActivities(opts: HostedFineTuneActivityOptions = {}) {
  const env = opts.env ?? process.env;
  const storeFor = opts.store ?? createArtifactStore;
  // One client per backend, endpoint and key name, made on first use.
  const backends = new Map<string, FineTuneJobBackend>();
  const backendFor =
    opts.backendFor ??
    ((endpoint: FineTuneEndpoint): FineTuneJobBackend => {
      const id = `${endpoint.backend}\u0000${endpoint.baseUrl ?? ''}\u0000${endpoint.apiKeyEnv ?? ''}`;
      let b = backends.get(id);
      if (!b) {
        // The workflow passes a validated student's backend; an input made by hand may name anything.
        if (!Object.hasOwn(FINETUNE_JOB_BACKENDS, endpoint.backend)) {
          throw ApplicationFailure.create({
            type: ErrorType.InvalidConfig,
            nonRetryable: true,
            message: `fine-tuning backend ${JSON.stringify(endpoint.backend)} is not a hosted backend; hosted backends: ${Object.keys(FINETUNE_JOB_BACKENDS).join(', ')}`,
          });
        }
        b = FINETUNE_JOB_BACKENDS[endpoint.backend]({ baseUrl: endpoint.baseUrl, apiKey: resolveApiKey(endpoint, env) });
        backends.set(id, b);
      }
      return b;
    });
  const backendOf = (input: HostedEndpointInput, model: string | undefined) =>
    backendFor({ backend: input.backend, model: model ?? 'fine-tuning', baseUrl: input.baseUrl, apiKeyEnv: input.apiKeyEnv });

  async function startHostedFineTune(input: StartHostedFineTuneInput): Promise<StartHostedFineTuneResult> {
    const signal = Context.current().cancellationSignal;
    if (!path.isAbsolute(input.datasetPath)) {
      throw ApplicationFailure.create({ type: ErrorType.InvalidConfig, nonRetryable: true, message: `datasetPath must be absolute, got ${input.datasetPath}` });
    }
    if (!/^[0-9a-f]{64}$/.test(input.datasetSha256)) {
      throw ApplicationFailure.create({ type: ErrorType.InvalidConfig, nonRetryable: true, message: `datasetSha256 must be 64 hex digits, got ${JSON.stringify(input.datasetSha256)}` });
    }
    // The upload is named by the hash, so a file changed under the same hash would be a silent mix-up.
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(input.datasetPath);
    } catch (err) {
      throw ApplicationFailure.create({ type: ErrorType.MissingData, nonRetryable: true, message: `cannot read training file ${input.datasetPath}: ${(err as Error).message}` });
    }
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== input.datasetSha256) {
      throw ApplicationFailure.create({
        type: ErrorType.ArtifactCorrupt,
        nonRetryable: true,
        message: `training file ${input.datasetPath} has sha256 ${actual}, expected ${input.datasetSha256}`,
      });
    }
    const backend = backendOf(input, input.baseModel);
    const report = await backend.validateTrainingFile(input.datasetPath);
    const fileId = await backend.uploadTrainingFile(input.datasetPath, { idempotencyKey: uploadKeyFor(input.datasetSha256), signal });
    Context.current().heartbeat({ fileId });
    const job = await backend.createJob({
      trainingFileId: fileId,
      model: input.baseModel,
      suffix: input.suffix,
      hyperparameters: input.hyperparameters,
      idempotencyKey: input.idempotencyKey,
      ...(input.previousIdempotencyKeys ? { previousKeys: input.previousIdempotencyKeys } : {}),
      metadata: input.metadata,
      signal,
    });
    log.info('fine-tuning job ready', { backend: input.backend, jobId: job.id, fileId, reused: job.reused, status: job.status });
    return { jobId: job.id, fileId, status: job.status, reusedJob: job.reused, examples: report.examples };
  }

  async function followHostedFineTune(input: FollowHostedFineTuneInput): Promise<FollowHostedFineTuneResult> {
    const ctx = Context.current();
    const backend = backendOf(input, input.baseModel);
    const from = readResumePoint(ctx.info.heartbeatDetails, input.jobId);
    let details: FollowHeartbeat = { jobId: input.jobId, lastEventId: from?.lastEventId, lastCheckpointStep: from?.lastCheckpointStep ?? 0 };
    const heartbeat = startHeartbeat(details, input.heartbeatEveryMs ?? 3000);
    try {
      const result = await backend.followJob(input.jobId, {
        from,
        pollMs: input.pollMs,
        signal: ctx.cancellationSignal,
        onEvent: (event, cursor) => {
          details = { ...details, ...cursor, last: describeEvent(event) };
          heartbeat.update(details);
        },
        onPoll: (job, cursor) => {
          details = { ...details, ...cursor, status: job.status };
          heartbeat.update(details);
        },
      });
      if (!input.record) return result;
      const record = await storeFor(input.record.artifactDir).writeJson(input.record.path, { ...result, baseUrl: backend.baseUrl });
      return { ...result, record };
    } catch (err) {
      const signal = ctx.cancellationSignal;
      if (signal.aborted) {
        // Only a cancel the workflow asked for stops the paid job; a worker shutdown or a heartbeat
        // timeout leaves it running for the next attempt to follow.
        if (ctx.cancellationDetails?.cancelRequested) {
          try {
            const job = await backend.cancelJob(input.jobId);
            log.info('fine-tuning job cancelled', { backend: input.backend, jobId: input.jobId, status: job.status });
          } catch (cancelErr) {
            log.warn('could not cancel fine-tuning job', { backend: input.backend, jobId: input.jobId, error: (cancelErr as Error).message });
          }
        }
        throw signal.reason ?? err;
      }
      throw err;
    } finally {
      heartbeat.stop();
    }
  }

  async function cancelHostedFineTune(input: CancelHostedFineTuneInput): Promise<{ jobId: string; status: FineTuneStatus }> {
    const job = await backendOf(input, input.baseModel).cancelJob(input.jobId);
    return { jobId: job.id, status: job.status };
  }

  return {
    startHostedFineTune,
    followHostedFineTune,
    cancelHostedFineTune,
    // Histories recorded before the hosted-job path call these names (backend "openai"); kept so those runs finish.
    startOpenAIFineTune: (input: LegacyOpenAIInput<StartHostedFineTuneInput>) => startHostedFineTune({ ...input, backend: 'openai' }),
    followOpenAIFineTune: (input: LegacyOpenAIInput<FollowHostedFineTuneInput>) => followHostedFineTune({ ...input, backend: 'openai' }),
    cancelOpenAIFineTune: (input: LegacyOpenAIInput<CancelHostedFineTuneInput>) => cancelHostedFineTune({ ...input, backend: 'openai' }),
  };
}
