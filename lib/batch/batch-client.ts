// The provider's Files and Batches resources through the official `openai` client. Every batch is
// named by an idempotency key in its metadata, and the client looks for it before creating, so a crash
// between "the provider made it" and "the workflow recorded it" never makes a second batch.
import OpenAI, { toFile } from 'openai';
import type { ModelConfig } from '../../core/config';
import { openAICall } from '../models/openai-errors';
import { DEFAULT_OPENAI_BASE_URL, resolveApiKey } from '../models/openai-model';

/** Batch metadata key that carries our idempotency key. */
export const BATCH_KEY_METADATA = 'fireact_key';

export type BatchStatus = 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

/** Statuses after which a batch changes no more. */
export const TERMINAL_BATCH_STATUSES: readonly string[] = ['completed', 'failed', 'expired', 'cancelled'];

export interface BatchInfo {
  id: string;
  key: string;
  status: string;
  outputFileId: string | null;
  errorFileId: string | null;
  counts: { total: number; completed: number; failed: number };
  /** Why the provider refused the input file (status failed). */
  errors: string[];
}

export interface BatchClient {
  /** The batch made under `key`, or undefined; looks through the provider's list. */
  find(key: string, signal?: AbortSignal): Promise<BatchInfo | undefined>;
  /** Finds the batch under `key`, else uploads `jsonl` (purpose batch) and creates it (24 h window). */
  findOrCreate(key: string, jsonl: string, signal?: AbortSignal): Promise<BatchInfo & { created: boolean }>;
  retrieve(id: string, signal?: AbortSignal): Promise<BatchInfo>;
  /** A file's text (output or error JSONL). */
  content(fileId: string, signal?: AbortSignal): Promise<string>;
  cancel(id: string, signal?: AbortSignal): Promise<BatchInfo>;
}

function infoOf(b: OpenAI.Batches.Batch): BatchInfo {
  const meta = (b.metadata ?? {}) as Record<string, unknown>;
  return {
    id: b.id,
    key: typeof meta[BATCH_KEY_METADATA] === 'string' ? (meta[BATCH_KEY_METADATA] as string) : '',
    status: b.status,
    outputFileId: b.output_file_id ?? null,
    errorFileId: b.error_file_id ?? null,
    counts: { total: b.request_counts?.total ?? 0, completed: b.request_counts?.completed ?? 0, failed: b.request_counts?.failed ?? 0 },
    errors: (b.errors?.data ?? []).map((e) => [e.line !== undefined && e.line !== null ? `line ${e.line}` : '', e.message ?? e.code ?? ''].filter(Boolean).join(': ')),
  };
}

export function createBatchClient(opts: { name: string; config: ModelConfig; env?: NodeJS.ProcessEnv; maxRetries?: number }): BatchClient {
  const baseUrl = (opts.config.baseUrl ?? DEFAULT_OPENAI_BASE_URL).replace(/\/+$/, '');
  const apiKey = resolveApiKey(opts.config, opts.env);
  // The SDK retries transient failures of these few control calls; Temporal retries the activity after that.
  const client = new OpenAI({ apiKey, baseURL: baseUrl, maxRetries: opts.maxRetries ?? 2, timeout: 120_000, logLevel: 'off' });

  const call = <T>(what: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> => openAICall(`${what} (model "${opts.name}") at ${baseUrl}`, apiKey, signal, fn);

  async function find(key: string, signal?: AbortSignal): Promise<BatchInfo | undefined> {
    return call('listing batches', signal, async () => {
      for await (const b of client.batches.list({ limit: 100 }, { signal })) {
        const info = infoOf(b);
        if (info.key === key) return info;
      }
      return undefined;
    });
  }

  /** An input file uploaded earlier under this name with these bytes (a crash after upload, before create). */
  async function findUpload(filename: string, bytes: number, signal?: AbortSignal): Promise<string | undefined> {
    return call('listing batch input files', signal, async () => {
      for await (const f of client.files.list({ purpose: 'batch', limit: 1000 }, { signal })) {
        if (f.filename === filename && f.bytes === bytes) return f.id;
      }
      return undefined;
    });
  }

  return {
    find,
    async findOrCreate(key, jsonl, signal) {
      const found = await find(key, signal);
      if (found) return { ...found, created: false };
      const filename = `${key.replace(/[^A-Za-z0-9._-]/g, '_')}.jsonl`;
      const content = Buffer.from(jsonl, 'utf8');
      const fileId =
        (await findUpload(filename, content.byteLength, signal)) ??
        (await call('uploading a batch input file', signal, async () => (await client.files.create({ file: await toFile(content, filename), purpose: 'batch' }, { signal })).id));
      const b = await call('creating a batch', signal, () =>
        client.batches.create(
          { input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { [BATCH_KEY_METADATA]: key } },
          // No SDK retry here: a create that reached the provider and lost its answer is found by its key next time.
          { signal, maxRetries: 0 },
        ),
      );
      return { ...infoOf(b), created: true };
    },
    retrieve: (id, signal) => call(`retrieving batch ${id}`, signal, async () => infoOf(await client.batches.retrieve(id, { signal }))),
    content: (fileId, signal) => call(`downloading batch file ${fileId}`, signal, async () => (await client.files.content(fileId, { signal })).text()),
    cancel: (id, signal) => call(`cancelling batch ${id}`, signal, async () => infoOf(await client.batches.cancel(id, { signal }))),
  };
}

/** One line of a batch input file. */
export function batchLine(customId: string, body: unknown): string {
  return JSON.stringify({ custom_id: customId, method: 'POST', url: '/v1/chat/completions', body });
}

/** One line of an output or error file, as the provider writes it. */
export interface BatchOutputLine {
  custom_id?: string;
  response?: { status_code?: number; body?: unknown } | null;
  error?: { code?: string; message?: string } | null;
}
