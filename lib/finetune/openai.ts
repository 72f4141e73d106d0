// Backend "openai": OpenAI fine-tuning through the official `openai` client, a FineTuneJobBackend
// (./hosted.ts). Every step that creates something looks first for what an earlier attempt already
// created (by a key carried in the file name or the job metadata), so a crash between "the provider
// made it" and "we recorded its id" never makes a second upload or, worse, a second paid job.
import { promises as fs } from 'node:fs';
import OpenAI, { toFile } from 'openai';
import type { FineTuningJob, FineTuningJobCheckpoint, FineTuningJobEvent } from 'openai/resources/fine-tuning/jobs';
import type { FileObject } from 'openai/resources/files';
import { ErrorType, typedFailure, isTypedFailure } from '../../core/errors';
import { checkEndpointUrl, normalizeBaseUrl } from '../models/openai-model';
import { redact } from '../models/http-common';
import { abortableSleep } from '../models/limiter';
import { classifyOpenAIError, openAICall, toFailure, type ClassifiedError } from '../models/openai-errors';
import { validateChatFile, type ChatFileReport } from './chat-file';
import {
  checkIdempotencyKey,
  IDEMPOTENCY_KEY_PATTERN,
  TERMINAL_STATUSES,
  type FineTuneCheckpoint,
  type FineTuneJobBackend,
  type FineTuneJobBackendOptions,
  type FineTuneJobInfo,
  type FollowCursor,
  type FollowEvent,
} from './hosted';

/** Job metadata key that carries our idempotency key. */
export const IDEMPOTENCY_METADATA_KEY = 'fireact_idempotency_key';

/** OpenAI refuses chat fine-tuning files with fewer examples than this. */
const OPENAI_MIN_EXAMPLES = 10;

/** Checks a chat JSONL file as OpenAI's fine-tuning will (at least 10 examples, every line well-formed). */
export function validateOpenAIChatFile(filePath: string): Promise<ChatFileReport> {
  return validateChatFile(filePath, { minExamples: OPENAI_MIN_EXAMPLES, service: 'OpenAI' });
}

export interface OpenAIFineTuneBackendOptions extends FineTuneJobBackendOptions {
  /** SDK retries for reads and cancel (default 2). Creating calls are retried here instead, with a look first. */
  maxRetries?: number;
  timeoutMs?: number;
  /** Look-then-create rounds for an upload or a job before giving up to Temporal's retry (default 3). */
  createAttempts?: number;
  /** First wait between those rounds, doubling (default 1 s). */
  retryDelayMs?: number;
  /** How often to check an uploaded file's processing status (default 2 s), and for how long (default 10 min). */
  filePollMs?: number;
  fileReadyTimeoutMs?: number;
  /** Most recent jobs scanned for an earlier attempt's job (default 500). */
  jobScanLimit?: number;
}

function stringMetadata(m: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (m && typeof m === 'object') for (const [k, v] of Object.entries(m)) if (typeof v === 'string') out[k] = v;
  return out;
}

function jobInfo(job: FineTuningJob, reused: boolean): FineTuneJobInfo {
  return {
    id: job.id,
    status: job.status,
    model: job.model,
    trainingFile: job.training_file,
    fineTunedModel: job.fine_tuned_model ?? null,
    trainedTokens: job.trained_tokens ?? null,
    error: job.error && (job.error.message || job.error.code) ? { code: job.error.code ?? '', message: job.error.message ?? '' } : null,
    metadata: stringMetadata(job.metadata),
    reused,
  };
}

function checkpointOf(c: FineTuningJobCheckpoint): FineTuneCheckpoint {
  const metrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(c.metrics ?? {})) if (typeof v === 'number' && Number.isFinite(v)) metrics[k] = v;
  return { id: c.id, step: c.step_number, model: c.fine_tuned_model_checkpoint, metrics };
}

function eventOf(e: FineTuningJobEvent): FollowEvent {
  return {
    kind: 'event',
    id: e.id,
    createdAt: e.created_at,
    level: e.level,
    message: e.message,
    ...(e.type ? { type: e.type } : {}),
    ...(e.data !== undefined && e.data !== null ? { data: e.data } : {}),
  };
}

/**
 * An upload's processing state. The SDK marks these fields deprecated, yet OpenAI still sets them and they are
 * the only sign a compatible server gives that a training file is ready (or why it was refused).
 */
function fileState(f: FileObject): { status: string; details?: string | null } {
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- see above
  return { status: f.status, details: f.status_details };
}

export function createOpenAIFineTuneBackend(opts: OpenAIFineTuneBackendOptions): FineTuneJobBackend {
  const baseUrl = normalizeBaseUrl(opts.baseUrl);
  checkEndpointUrl(baseUrl, 'fine-tuning endpoint');
  const apiKey = opts.apiKey;
  const createAttempts = Math.max(1, opts.createAttempts ?? 3);
  const retryDelayMs = opts.retryDelayMs ?? 1000;
  const filePollMs = opts.filePollMs ?? 2000;
  const fileReadyTimeoutMs = opts.fileReadyTimeoutMs ?? 10 * 60_000;
  const jobScanLimit = opts.jobScanLimit ?? 500;
  const client = new OpenAI({
    apiKey,
    baseURL: baseUrl,
    maxRetries: opts.maxRetries ?? 2,
    timeout: opts.timeoutMs ?? 60_000,
    logLevel: 'off',
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });

  /** Runs one SDK call; cancellation passes through untouched, everything else becomes a typed failure. */
  const call = <T>(what: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> => openAICall(`${what} at ${baseUrl}`, apiKey, signal, fn);

  /**
   * Look for an earlier attempt's result, create when there is none; a retryable failure of the
   * create goes round again, looking first, since the provider may have made it before failing.
   */
  async function lookThenCreate<T>(what: string, signal: AbortSignal | undefined, look: () => Promise<T | undefined>, create: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const found = await look();
      if (found !== undefined) return found;
      let c: ClassifiedError;
      try {
        return await create();
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (isTypedFailure(err)) throw err;
        c = classifyOpenAIError(err);
      }
      if (!c.retryable || attempt >= createAttempts) {
        const tries = attempt > 1 ? ` after ${attempt} attempts` : '';
        throw toFailure(c, `${what} at ${baseUrl}${tries}`, apiKey);
      }
      await abortableSleep(retryDelayMs * 2 ** (attempt - 1), signal);
    }
  }

  async function findUpload(filename: string, bytes: number, signal?: AbortSignal): Promise<FileObject | undefined> {
    return call('listing fine-tuning files', signal, async () => {
      for await (const f of client.files.list({ purpose: 'fine-tune', limit: 1000 }, { signal })) {
        if (f.filename === filename && f.bytes === bytes && fileState(f).status !== 'error') return f;
      }
      return undefined;
    });
  }

  async function waitProcessed(file: FileObject, signal?: AbortSignal): Promise<string> {
    const deadline = Date.now() + fileReadyTimeoutMs;
    let current = file;
    for (;;) {
      const state = fileState(current);
      if (state.status === 'processed') return current.id;
      if (state.status === 'error') {
        throw typedFailure({
          type: ErrorType.BadDatasetRecord,
          nonRetryable: true,
          message: redact(`OpenAI rejected training file ${current.id} (${current.filename}): ${state.details ?? 'no details given'}`, [apiKey]),
        });
      }
      if (Date.now() >= deadline) {
        throw typedFailure({
          type: ErrorType.ModelUnavailable,
          message: `training file ${current.id} was still "${state.status}" after ${Math.round(fileReadyTimeoutMs / 1000)} s`,
        });
      }
      await abortableSleep(filePollMs, signal);
      current = await call(`checking training file ${file.id}`, signal, () => client.files.retrieve(file.id, { signal }));
    }
  }

  async function findJob(key: string, signal?: AbortSignal): Promise<{ live?: FineTuningJob; dead?: FineTuningJob }> {
    return call('listing fine-tuning jobs', signal, async () => {
      let dead: FineTuningJob | undefined;
      let scanned = 0;
      // The metadata filter narrows the list where supported; the check below does not rely on it.
      for await (const job of client.fineTuning.jobs.list({ limit: 100, metadata: { [IDEMPOTENCY_METADATA_KEY]: key } }, { signal })) {
        if (++scanned > jobScanLimit) break;
        if (stringMetadata(job.metadata)[IDEMPOTENCY_METADATA_KEY] !== key) continue;
        // A failed or cancelled job is history, not something to resume; newest first, so the first live one wins.
        if (job.status === 'failed' || job.status === 'cancelled') dead ??= job;
        else return { live: job, dead };
      }
      return { dead };
    });
  }

  async function getJob(jobId: string, signal?: AbortSignal): Promise<FineTuneJobInfo> {
    const job = await call(`reading fine-tuning job ${jobId}`, signal, () => client.fineTuning.jobs.retrieve(jobId, { signal }));
    return jobInfo(job, false);
  }

  async function newEvents(jobId: string, after: string | undefined, signal?: AbortSignal): Promise<FineTuningJobEvent[]> {
    return call(`listing events of fine-tuning job ${jobId}`, signal, async () => {
      // The API lists events newest first; read back to the last one seen, then put them in order.
      const fresh: FineTuningJobEvent[] = [];
      for await (const e of client.fineTuning.jobs.listEvents(jobId, { limit: 100 }, { signal })) {
        if (after !== undefined && e.id === after) break;
        fresh.push(e);
      }
      return fresh.reverse();
    });
  }

  async function allCheckpoints(jobId: string, signal?: AbortSignal): Promise<FineTuneCheckpoint[]> {
    return call(`listing checkpoints of fine-tuning job ${jobId}`, signal, async () => {
      const out: FineTuneCheckpoint[] = [];
      for await (const c of client.fineTuning.jobs.checkpoints.list(jobId, { limit: 100 }, { signal })) out.push(checkpointOf(c));
      return out.sort((a, b) => a.step - b.step);
    });
  }

  return {
    baseUrl,

    validateTrainingFile: validateOpenAIChatFile,

    async uploadTrainingFile(filePath, { idempotencyKey, signal }) {
      checkIdempotencyKey(idempotencyKey);
      let content: Buffer;
      try {
        content = await fs.readFile(filePath);
      } catch (err) {
        throw typedFailure({ type: ErrorType.MissingData, nonRetryable: true, message: `cannot read training file ${filePath}: ${(err as Error).message}` });
      }
      const filename = `${idempotencyKey}.jsonl`;
      const file = await lookThenCreate(
        `uploading ${filePath} for fine-tuning`,
        signal,
        () => findUpload(filename, content.length, signal),
        async () => client.files.create({ file: await toFile(content, filename), purpose: 'fine-tune' }, { signal, maxRetries: 0 }),
      );
      return waitProcessed(file, signal);
    },

    async createJob(req) {
      checkIdempotencyKey(req.idempotencyKey);
      const key = req.idempotencyKey;
      const previousKeys = (req.previousKeys ?? []).filter((k) => k !== key && IDEMPOTENCY_KEY_PATTERN.test(k));
      let reused = false;
      // What the look step found dead, for the create step's header.
      let deadJob: FineTuningJob | undefined;
      const job = await lookThenCreate(
        `creating a fine-tuning job for ${req.model}`,
        req.signal,
        async () => {
          const { live, dead } = await findJob(key, req.signal);
          if (live) {
            reused = true;
            return live;
          }
          deadJob = dead;
          // An old key form could be shared by two experiments; the same training file makes it this one's.
          for (const previous of previousKeys) {
            const earlier = (await findJob(previous, req.signal)).live;
            if (earlier && earlier.training_file === req.trainingFileId) {
              reused = true;
              return earlier;
            }
          }
          return undefined;
        },
        () =>
          client.fineTuning.jobs.create(
            {
              model: req.model,
              training_file: req.trainingFileId,
              ...(req.suffix ? { suffix: req.suffix } : {}),
              metadata: { ...(req.metadata ?? {}), [IDEMPOTENCY_METADATA_KEY]: key },
              method: { type: 'supervised', supervised: { hyperparameters: { ...(req.hyperparameters ?? {}) } } },
            },
            {
              signal: req.signal,
              maxRetries: 0,
              // A server that honours the header dedupes too; after a dead job the same key would
              // replay that job, so the header then names it.
              headers: { 'Idempotency-Key': deadJob ? `${key}.after.${deadJob.id}` : key },
            },
          ),
      );
      return jobInfo(job, reused);
    },

    getJob,

    async followJob(jobId, fopts = {}) {
      const { signal, onEvent, onPoll } = fopts;
      const pollMs = fopts.pollMs ?? 10_000;
      const cursor: FollowCursor = { lastEventId: fopts.from?.lastEventId, lastCheckpointStep: fopts.from?.lastCheckpointStep ?? 0 };
      for (;;) {
        // Status first, events second: once a terminal status is seen, the events read after it are complete.
        const job = await getJob(jobId, signal);
        for (const e of await newEvents(jobId, cursor.lastEventId, signal)) {
          cursor.lastEventId = e.id;
          await onEvent?.(eventOf(e), { ...cursor });
        }
        const terminal = TERMINAL_STATUSES.has(job.status);
        let checkpoints: FineTuneCheckpoint[] = [];
        if (job.status === 'running' || terminal) {
          checkpoints = await allCheckpoints(jobId, signal);
          for (const c of checkpoints) {
            if (c.step <= cursor.lastCheckpointStep) continue;
            cursor.lastCheckpointStep = c.step;
            await onEvent?.({ kind: 'checkpoint', ...c }, { ...cursor });
          }
        }
        onPoll?.(job, { ...cursor });
        if (terminal) {
          if (job.status === 'failed') {
            const why = job.error ? `${job.error.message}${job.error.code ? ` (code ${job.error.code})` : ''}` : 'no error given';
            throw typedFailure({
              type: ErrorType.FineTuneFailed,
              nonRetryable: true,
              message: redact(`fine-tuning job ${jobId} (${job.model}) failed: ${why}`, [apiKey]),
              details: [{ jobId, error: job.error, checkpoints, trainedTokens: job.trainedTokens }],
            });
          }
          return {
            jobId,
            status: job.status as 'succeeded' | 'cancelled',
            fineTunedModel: job.fineTunedModel,
            checkpoints,
            trainedTokens: job.trainedTokens,
            ...(job.error ? { error: job.error } : {}),
            cursor: { ...cursor },
          };
        }
        await abortableSleep(pollMs, signal);
      }
    },

    async cancelJob(jobId, signal) {
      try {
        return jobInfo(await client.fineTuning.jobs.cancel(jobId, { signal }), false);
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        const c = classifyOpenAIError(err);
        // Cancelling a job that already ended is refused; that is the outcome we wanted anyway.
        if (c.status === 400 || c.status === 409) {
          const job = await getJob(jobId, signal);
          if (TERMINAL_STATUSES.has(job.status)) return job;
        }
        throw toFailure(c, `cancelling fine-tuning job ${jobId} at ${baseUrl}`, apiKey);
      }
    },
  };
}
