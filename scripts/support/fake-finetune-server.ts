// A stand-in for OpenAI's files and fine-tuning API on 127.0.0.1: the real paths, the real JSON
// shapes (lists newest first, `after` cursors, error bodies), a bearer key, and jobs that move on a
// timer from validating_files through queued and running (step events, checkpoints with metrics) to
// succeeded, failed or cancelled. It counts uploads and job creations so tests can prove that a
// retried start made nothing twice, and can drop a reply after acting on it, as a crash would.
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import type http from 'node:http';
import { sendJson, serveLocal } from './local-http';

export interface FakeFineTuneFailure {
  /** The running step at which the job fails (0: during file validation). */
  atStep: number;
  message: string;
  code?: string;
}

export interface FakeFineTuneSpeed {
  /** Time in validating_files and in queued, each (default: stepMs). */
  stageMs?: number;
  /** Time per training step (default 20 ms). */
  stepMs?: number;
  totalSteps?: number;
  /** A checkpoint every this many steps, and at the last (default 4). */
  checkpointEvery?: number;
}

/** A scripted answer for matching requests, used `times` times. */
export interface FakeFineTuneFault {
  method?: string;
  /** Matched against the path (e.g. /v1/fine_tuning/jobs). */
  path: RegExp;
  times?: number;
  /** Answer with this status and error instead of handling the request. */
  status?: number;
  error?: { message: string; type?: string; code?: string | null };
  headers?: Record<string, string>;
  /** Handle the request (create the job, store the file), then cut the connection instead of replying. */
  dropResponse?: boolean;
}

export interface FakeFineTuneServerOptions extends FakeFineTuneSpeed {
  /** 0 (default) picks a free port. */
  port?: number;
  /** The bearer key every request must carry (default "sk-fake-finetune-key"). */
  apiKey?: string;
  failure?: FakeFineTuneFailure;
  /** How long an upload stays "uploaded" before it is "processed" (default 0). */
  fileProcessingMs?: number;
  /** Answer a repeated Idempotency-Key with the first job, as some servers do (default false, as OpenAI's fine-tuning docs promise nothing). */
  honourIdempotencyKey?: boolean;
  /** Appends one JSON line per request (for tests running the server in another process). */
  logFile?: string;
}

export interface FakeFineTuneRequest {
  seq: number;
  method: string;
  path: string;
  query: Record<string, string>;
  status: number | 'dropped';
  idempotencyKey?: string;
}

interface StoredFile {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
  status: 'uploaded' | 'processed' | 'error';
  status_details?: string;
  createdMs: number;
  content: string;
}

interface StoredJob {
  id: string;
  object: 'fine_tuning.job';
  created_at: number;
  error: { code: string; message: string; param: string | null } | null;
  fine_tuned_model: string | null;
  finished_at: number | null;
  hyperparameters: { n_epochs: number | 'auto'; batch_size: number | 'auto'; learning_rate_multiplier: number | 'auto' };
  model: string;
  organization_id: string;
  result_files: string[];
  seed: number;
  status: 'validating_files' | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  trained_tokens: number | null;
  training_file: string;
  validation_file: string | null;
  estimated_finish: number | null;
  integrations: null;
  metadata: Record<string, string> | null;
  method: { type: 'supervised'; supervised: { hyperparameters: Record<string, unknown> } };
  user_provided_suffix: string | null;
}

interface JobState {
  job: StoredJob;
  /** Oldest first; listed newest first. */
  events: Array<{ id: string; object: 'fine_tuning.job.event'; created_at: number; level: 'info' | 'warn' | 'error'; message: string; type: 'message' | 'metrics'; data: unknown }>;
  checkpoints: Array<{
    id: string;
    object: 'fine_tuning.job.checkpoint';
    created_at: number;
    fine_tuned_model_checkpoint: string;
    fine_tuning_job_id: string;
    metrics: Record<string, number>;
    step_number: number;
  }>;
  step: number;
  timer?: NodeJS.Timeout;
  tokensPerStep: number;
}

export interface FakeFineTuneServer {
  /** Base URL for the openai client, e.g. http://127.0.0.1:PORT/v1 */
  readonly url: string;
  readonly port: number;
  readonly apiKey: string;
  /** POST /v1/files requests that stored a file. */
  readonly uploads: number;
  /** POST /v1/fine_tuning/jobs requests that made a job. */
  readonly jobCreations: number;
  readonly requests: readonly FakeFineTuneRequest[];
  /** Job objects as the API shows them, oldest first. */
  jobs(): StoredJob[];
  job(id: string): StoredJob | undefined;
  /** Idempotency-Key headers seen on job creation, in order. */
  readonly idempotencyKeys: readonly string[];
  setFailure(failure: FakeFineTuneFailure | undefined): void;
  setSpeed(speed: FakeFineTuneSpeed): void;
  addFault(fault: FakeFineTuneFault): void;
  close(): Promise<void>;
}

const nowSec = () => Math.floor(Date.now() / 1000);
const rid = (n = 12) => randomBytes(n).toString('hex').slice(0, n * 2);

function errorBody(message: string, type = 'invalid_request_error', code: string | null = null, param: string | null = null) {
  return { error: { message, type, param, code } };
}

/** Cursor page over items already in listing order. */
function page<T extends { id: string }>(items: T[], query: URLSearchParams, defaultLimit: number) {
  const limit = Math.max(1, Math.min(Number(query.get('limit') ?? defaultLimit) || defaultLimit, 10_000));
  const after = query.get('after');
  let start = 0;
  if (after) {
    const i = items.findIndex((x) => x.id === after);
    start = i < 0 ? items.length : i + 1;
  }
  const data = items.slice(start, start + limit);
  return { object: 'list', data, has_more: start + limit < items.length, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null };
}

function looksLikeChatJsonl(text: string): string | undefined {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) return 'file is empty';
  for (let i = 0; i < lines.length; i++) {
    try {
      const v = JSON.parse(lines[i]) as { messages?: unknown };
      if (!Array.isArray(v.messages)) return `line ${i + 1}: missing "messages"`;
    } catch {
      return `line ${i + 1}: invalid JSON`;
    }
  }
  return undefined;
}

export async function startFakeFineTuneServer(opts: FakeFineTuneServerOptions = {}): Promise<FakeFineTuneServer> {
  const apiKey = opts.apiKey ?? 'sk-fake-finetune-key';
  let speed = { stepMs: opts.stepMs ?? 20, stageMs: opts.stageMs, totalSteps: opts.totalSteps ?? 12, checkpointEvery: opts.checkpointEvery ?? 4 };
  let failure = opts.failure;
  const fileProcessingMs = opts.fileProcessingMs ?? 0;
  const files: StoredFile[] = [];
  const jobs: JobState[] = [];
  const byIdempotencyKey = new Map<string, JobState>();
  const idempotencyKeys: string[] = [];
  const faults: Array<FakeFineTuneFault & { left: number }> = [];
  const requests: FakeFineTuneRequest[] = [];
  let uploads = 0;
  let jobCreations = 0;
  let seq = 0;
  let closed = false;

  function fileView(f: StoredFile) {
    if (f.status === 'uploaded' && Date.now() - f.createdMs >= fileProcessingMs) f.status = 'processed';
    const { createdMs: _ms, content: _c, ...view } = f;
    return view;
  }

  function addEvent(st: JobState, message: string, level: 'info' | 'warn' | 'error' = 'info', data: unknown = {}, type: 'message' | 'metrics' = 'message') {
    st.events.push({ id: `ftevent-${rid()}`, object: 'fine_tuning.job.event', created_at: nowSec(), level, message, type, data });
  }

  function finish(st: JobState, status: 'succeeded' | 'failed' | 'cancelled') {
    if (st.timer) clearTimeout(st.timer);
    st.timer = undefined;
    st.job.status = status;
    st.job.finished_at = nowSec();
  }

  function fail(st: JobState, f: FakeFineTuneFailure) {
    st.job.error = { code: f.code ?? 'training_failed', message: f.message, param: null };
    addEvent(st, f.message, 'error');
    finish(st, 'failed');
  }

  function modelName(st: JobState, extra = ''): string {
    return `ft:${st.job.model}:${st.job.user_provided_suffix ?? ''}:${st.job.id.slice(-8)}${extra}`;
  }

  function schedule(st: JobState, ms: number, next: () => void) {
    if (closed) return;
    st.timer = setTimeout(() => {
      st.timer = undefined;
      if (!['succeeded', 'failed', 'cancelled'].includes(st.job.status)) next();
    }, ms);
    st.timer.unref();
  }

  function advance(st: JobState) {
    const stageMs = speed.stageMs ?? speed.stepMs;
    switch (st.job.status) {
      case 'validating_files': {
        const file = files.find((f) => f.id === st.job.training_file);
        const problem = file ? looksLikeChatJsonl(file.content) : 'file not found';
        if (problem) {
          fail(st, { atStep: 0, code: 'invalid_training_file', message: `The job failed due to an invalid training file. ${problem}` });
          return;
        }
        if (failure && failure.atStep <= 0) {
          fail(st, failure);
          return;
        }
        addEvent(st, 'Files validated, moving job to queued state');
        st.job.status = 'queued';
        schedule(st, stageMs, () => advance(st));
        return;
      }
      case 'queued':
        st.job.status = 'running';
        // 'auto' settles to numbers once training starts, as on the real service.
        for (const [k, v] of Object.entries({ n_epochs: 3, batch_size: 1, learning_rate_multiplier: 2 })) {
          const h = st.job.hyperparameters as Record<string, unknown>;
          if (h[k] === 'auto') h[k] = v;
        }
        addEvent(st, 'Fine-tuning job started');
        schedule(st, speed.stepMs, () => advance(st));
        return;
      case 'running': {
        st.step++;
        const step = st.step;
        const total = speed.totalSteps;
        const loss = Math.round((2.5 / (1 + step * 0.3)) * 1000) / 1000;
        const acc = Math.round((1 - loss / 3) * 1000) / 1000;
        addEvent(st, `Step ${step}/${total}: training loss=${loss.toFixed(3)}`, 'info', { step, train_loss: loss, train_mean_token_accuracy: acc, total_steps: total }, 'metrics');
        if (step % speed.checkpointEvery === 0 || step === total) {
          const ckpt = {
            id: `ftckpt_${rid()}`,
            object: 'fine_tuning.job.checkpoint' as const,
            created_at: nowSec(),
            fine_tuned_model_checkpoint: modelName(st, `:ckpt-step-${step}`),
            fine_tuning_job_id: st.job.id,
            metrics: { step, train_loss: loss, train_mean_token_accuracy: acc, full_valid_loss: loss * 1.1, full_valid_mean_token_accuracy: acc * 0.95 },
            step_number: step,
          };
          st.checkpoints.push(ckpt);
          addEvent(st, `Checkpoint created at step ${step}`);
        }
        if (failure && failure.atStep > 0 && step >= failure.atStep) {
          fail(st, failure);
          return;
        }
        if (step >= total) {
          st.job.fine_tuned_model = modelName(st);
          st.job.trained_tokens = st.tokensPerStep * total;
          addEvent(st, `New fine-tuned model created: ${st.job.fine_tuned_model}`);
          addEvent(st, 'The job has successfully completed');
          finish(st, 'succeeded');
          return;
        }
        schedule(st, speed.stepMs, () => advance(st));
        return;
      }
      default:
        return;
    }
  }

  type Reply = { status: number; body: unknown; headers?: Record<string, string> };
  const ok = (body: unknown): Reply => ({ status: 200, body });
  const notFound = (what: string, id: string): Reply => ({ status: 404, body: errorBody(`No such ${what}: ${id}`, 'invalid_request_error', null, 'id') });

  async function handle(method: string, path: string, query: URLSearchParams, req: http.IncomingMessage, raw: Buffer): Promise<Reply> {
    if (method === 'POST' && path === '/v1/files') {
      // A test server reading small uploads: the fetch API's form parser is enough here.
      // eslint-disable-next-line @typescript-eslint/no-deprecated
      const form = await new Response(raw, { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData().catch(() => undefined);
      const purpose = form?.get('purpose');
      const file = form?.get('file');
      if (typeof purpose !== 'string' || !file || typeof file === 'string') {
        return { status: 400, body: errorBody("'file' and 'purpose' are required multipart fields", 'invalid_request_error', null, 'file') };
      }
      if (!['fine-tune', 'assistants', 'batch', 'vision', 'user_data', 'evals'].includes(purpose)) {
        return { status: 400, body: errorBody(`'${purpose}' is not one of the supported purposes`, 'invalid_request_error', null, 'purpose') };
      }
      const content = await file.text();
      const problem = purpose === 'fine-tune' ? looksLikeChatJsonl(content) : undefined;
      const stored: StoredFile = {
        id: `file-${rid()}`,
        object: 'file',
        bytes: Buffer.byteLength(content, 'utf8'),
        created_at: nowSec(),
        filename: file.name,
        purpose,
        status: problem ? 'error' : 'uploaded',
        ...(problem ? { status_details: `Invalid file format: ${problem}` } : {}),
        createdMs: Date.now(),
        content,
      };
      files.push(stored);
      uploads++;
      return ok(fileView(stored));
    }
    if (method === 'GET' && path === '/v1/files') {
      const purpose = query.get('purpose');
      let list = files.filter((f) => !purpose || f.purpose === purpose).map(fileView);
      if ((query.get('order') ?? 'desc') === 'desc') list = list.reverse();
      return ok(page(list, query, 10_000));
    }
    let m = /^\/v1\/files\/([^/]+)$/.exec(path);
    if (method === 'GET' && m) {
      const f = files.find((x) => x.id === m![1]);
      return f ? ok(fileView(f)) : notFound('File object', m[1]);
    }

    if (method === 'POST' && path === '/v1/fine_tuning/jobs') {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      } catch {
        return { status: 400, body: errorBody('We could not parse the JSON body of your request.') };
      }
      const key = typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : undefined;
      if (key) idempotencyKeys.push(key);
      if (key && opts.honourIdempotencyKey && byIdempotencyKey.has(key)) return ok(byIdempotencyKey.get(key)!.job);
      if (typeof body.model !== 'string' || !body.model) return { status: 400, body: errorBody('Missing required parameter: model', 'invalid_request_error', 'missing_required_parameter', 'model') };
      const file = files.find((f) => f.id === body.training_file);
      if (!file) return { status: 400, body: errorBody(`invalid training_file: ${String(body.training_file)}`, 'invalid_request_error', null, 'training_file') };
      if (fileView(file).status !== 'processed') {
        return { status: 400, body: errorBody(`File ${file.id} is not ready: it is still being processed or failed processing.`, 'invalid_request_error', 'file_not_ready', 'training_file') };
      }
      const suffix = typeof body.suffix === 'string' ? body.suffix : null;
      if (suffix && suffix.length > 64) return { status: 400, body: errorBody('suffix must be at most 64 characters', 'invalid_request_error', null, 'suffix') };
      const metadata = body.metadata && typeof body.metadata === 'object' ? (body.metadata as Record<string, unknown>) : null;
      if (metadata && Object.values(metadata).some((v) => typeof v !== 'string')) {
        return { status: 400, body: errorBody('metadata values must be strings', 'invalid_request_error', null, 'metadata') };
      }
      const methodHp = ((body.method as { supervised?: { hyperparameters?: Record<string, unknown> } } | undefined)?.supervised?.hyperparameters ?? {}) as Record<string, unknown>;
      const hp = { ...((body.hyperparameters as Record<string, unknown> | undefined) ?? {}), ...methodHp };
      const pick = (k: string): number | 'auto' => (typeof hp[k] === 'number' ? (hp[k] as number) : 'auto');
      const id = `ftjob-${rid()}`;
      const st: JobState = {
        job: {
          id,
          object: 'fine_tuning.job',
          created_at: nowSec(),
          error: null,
          fine_tuned_model: null,
          finished_at: null,
          hyperparameters: { n_epochs: pick('n_epochs'), batch_size: pick('batch_size'), learning_rate_multiplier: pick('learning_rate_multiplier') },
          model: body.model,
          organization_id: 'org-fake',
          result_files: [],
          seed: typeof body.seed === 'number' ? body.seed : 42,
          status: 'validating_files',
          trained_tokens: null,
          training_file: file.id,
          validation_file: null,
          estimated_finish: null,
          integrations: null,
          metadata: metadata as Record<string, string> | null,
          method: { type: 'supervised', supervised: { hyperparameters: hp } },
          user_provided_suffix: suffix,
        },
        events: [],
        checkpoints: [],
        step: 0,
        tokensPerStep: Math.max(1, Math.ceil(file.bytes / 4 / Math.max(1, speed.totalSteps))),
      };
      jobs.push(st);
      jobCreations++;
      if (key) byIdempotencyKey.set(key, st);
      addEvent(st, `Created fine-tuning job: ${id}`);
      addEvent(st, `Validating training file: ${file.id}`);
      schedule(st, speed.stageMs ?? speed.stepMs, () => advance(st));
      return ok(st.job);
    }
    if (method === 'GET' && path === '/v1/fine_tuning/jobs') {
      const wanted: Array<[string, string]> = [];
      for (const [k, v] of query) {
        const mm = /^metadata\[(.+)\]$/.exec(k);
        if (mm) wanted.push([mm[1], v]);
      }
      const list = jobs
        .map((s) => s.job)
        .filter((j) => wanted.every(([k, v]) => (j.metadata ?? {})[k] === v))
        .reverse();
      return ok(page(list, query, 20));
    }
    m = /^\/v1\/fine_tuning\/jobs\/([^/]+)(?:\/(events|checkpoints|cancel))?$/.exec(path);
    if (m) {
      const st = jobs.find((s) => s.job.id === m![1]);
      if (!st) return notFound('fine-tuning job', m[1]);
      const sub = m[2];
      if (method === 'GET' && !sub) return ok(st.job);
      if (method === 'GET' && sub === 'events') return ok(page([...st.events].reverse(), query, 20));
      if (method === 'GET' && sub === 'checkpoints') return ok(page([...st.checkpoints].reverse(), query, 10));
      if (method === 'POST' && sub === 'cancel') {
        if (['succeeded', 'failed', 'cancelled'].includes(st.job.status)) {
          return { status: 400, body: errorBody(`Job ${st.job.id} has already ${st.job.status === 'cancelled' ? 'been cancelled' : 'completed'} and cannot be cancelled.`) };
        }
        addEvent(st, 'Fine-tuning job cancelled');
        finish(st, 'cancelled');
        return ok(st.job);
      }
    }
    return { status: 404, body: errorBody(`Invalid URL (${method} ${path})`, 'invalid_request_error', 'unknown_url') };
  }

  function log(entry: FakeFineTuneRequest) {
    requests.push(entry);
    if (opts.logFile) appendFileSync(opts.logFile, JSON.stringify(entry) + '\n');
  }

  const server = await serveLocal((req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '');
    const entry: FakeFineTuneRequest = {
      seq: ++seq,
      method,
      path,
      query: Object.fromEntries(url.searchParams),
      status: 0,
      ...(typeof req.headers['idempotency-key'] === 'string' ? { idempotencyKey: req.headers['idempotency-key'] } : {}),
    };
    const reply = (r: Reply) => {
      entry.status = r.status;
      log(entry);
      sendJson(res, r.status, r.body, r.headers);
    };
    // Like the real service, a wrong key is named back in the error (which is why clients must redact).
    const auth = req.headers.authorization ?? '';
    if (auth !== `Bearer ${apiKey}`) {
      const given = auth.replace(/^Bearer\s+/i, '');
      reply({ status: 401, body: errorBody(given ? `Incorrect API key provided: ${given}. You can find your API key in your account settings.` : "You didn't provide an API key.", 'invalid_request_error', 'invalid_api_key') });
      return;
    }
    const fault = faults.find((f) => f.left > 0 && (!f.method || f.method === method) && f.path.test(path));
    if (fault) fault.left--;
    if (fault && !fault.dropResponse) {
      const status = fault.status ?? 500;
      reply({ status, body: { error: { message: fault.error?.message ?? `injected ${status}`, type: fault.error?.type ?? 'server_error', param: null, code: fault.error?.code ?? null } }, headers: fault.headers });
      return;
    }
    handle(method, path, url.searchParams, req, body).then(
      (r) => {
        if (fault?.dropResponse) {
          entry.status = 'dropped';
          log(entry);
          req.socket.destroy();
          return;
        }
        reply(r);
      },
      (err: Error) => reply({ status: 500, body: errorBody(`fake server error: ${err.message}`, 'server_error') }),
    );
  }, opts.port);

  return {
    url: `http://127.0.0.1:${server.port}/v1`,
    port: server.port,
    apiKey,
    get uploads() {
      return uploads;
    },
    get jobCreations() {
      return jobCreations;
    },
    get requests() {
      return requests;
    },
    get idempotencyKeys() {
      return idempotencyKeys;
    },
    jobs: () => jobs.map((s) => s.job),
    job: (id) => jobs.find((s) => s.job.id === id)?.job,
    setFailure(f) {
      failure = f;
    },
    setSpeed(s) {
      speed = { ...speed, ...s };
    },
    addFault(f) {
      faults.push({ ...f, left: f.times ?? 1 });
    },
    close() {
      closed = true;
      for (const st of jobs) if (st.timer) clearTimeout(st.timer);
      return server.close();
    },
  };
}
