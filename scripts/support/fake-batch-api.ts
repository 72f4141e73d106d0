// The Files and Batches wire protocol of an OpenAI-compatible endpoint, for the local fake server:
// upload (multipart, purpose batch), list, retrieve, content; create, retrieve, list (with metadata),
// cancel. A batch moves validating -> in_progress -> finalizing -> completed in compressed time (ms),
// or ends expired / failed / cancelled, and every line is answered by the same teacher behaviour the
// server's /chat/completions uses, so batch and synchronous runs see the same replies.
import type http from 'node:http';
import { sendJson } from './local-http';

/** What one line's request gets: an HTTP status and the body /chat/completions would have sent. */
export type LineAnswer = { status: number; body: unknown };

export interface FakeBatchOptions {
  /** Milliseconds spent in each status (defaults 20 / 50 / 20). */
  validatingMs?: number;
  inProgressMs?: number;
  finalizingMs?: number;
  /**
   * How batch number `n` (1-based, in creation order) ends: `expired` after answering `answered`
   * lines (the rest get `batch_expired` errors), or `failed` at validation. Default: completed.
   */
  script?: (n: number, lines: number) => { end: 'completed' | 'expired' | 'failed'; answered?: number } | undefined;
  /** Called after a batch is made and before its create response goes out; the response waits for it (a test can hold it open). */
  onCreate?: (batch: FakeBatch) => Promise<void> | void;
}

export interface FakeFile {
  id: string;
  filename: string;
  purpose: string;
  bytes: number;
  created_at: number;
  text: string;
}

export interface FakeBatch {
  id: string;
  object: 'batch';
  endpoint: string;
  input_file_id: string;
  completion_window: string;
  status: string;
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  in_progress_at: number | null;
  finalizing_at: number | null;
  completed_at: number | null;
  expired_at: number | null;
  cancelled_at: number | null;
  failed_at: number | null;
  request_counts: { total: number; completed: number; failed: number };
  metadata: Record<string, string> | null;
  errors: { object: 'list'; data: Array<{ code: string; message: string; line: number | null }> } | null;
}

export interface FakeBatchApi {
  readonly files: ReadonlyMap<string, FakeFile>;
  readonly batches: readonly FakeBatch[];
  /** Lines answered over all batches. */
  readonly linesAnswered: number;
  /** Handles a Files or Batches route; false when the path is not one of them. */
  handle(method: string, path: string, query: URLSearchParams, raw: Buffer, headers: http.IncomingHttpHeaders, res: http.ServerResponse): Promise<boolean>;
}

const send = (res: http.ServerResponse, status: number, value: unknown): void => sendJson(res, status, value);

function notFound(res: http.ServerResponse, what: string): void {
  send(res, 404, { error: { message: `No such ${what}`, type: 'invalid_request_error', code: null } });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => Math.floor(Date.now() / 1000);

export function createFakeBatchApi(answer: (body: unknown) => Promise<LineAnswer>, opts: FakeBatchOptions = {}): FakeBatchApi {
  const files = new Map<string, FakeFile>();
  const batches: FakeBatch[] = [];
  const cancelRequested = new Set<string>();
  let fileSeq = 0;
  let linesAnswered = 0;

  function addFile(filename: string, purpose: string, text: string): FakeFile {
    const f: FakeFile = { id: `file-fake-${++fileSeq}`, filename, purpose, bytes: Buffer.byteLength(text), created_at: now(), text };
    files.set(f.id, f);
    return f;
  }
  const fileJson = (f: FakeFile) => ({ id: f.id, object: 'file', bytes: f.bytes, created_at: f.created_at, filename: f.filename, purpose: f.purpose, status: 'processed' });

  /** Runs a batch through its statuses; answers lines one by one so a cancel or an expiry stops it part way. */
  async function run(b: FakeBatch, n: number): Promise<void> {
    const input = files.get(b.input_file_id)!;
    const lines = input.text.split('\n').filter((l) => l.trim());
    const plan = opts.script?.(n, lines.length) ?? { end: 'completed' as const };
    await sleep(opts.validatingMs ?? 20);
    const errors: Array<{ code: string; message: string; line: number | null }> = [];
    const parsed: Array<{ custom_id: string; body: unknown }> = [];
    lines.forEach((l, i) => {
      try {
        const v = JSON.parse(l) as { custom_id?: unknown; method?: unknown; url?: unknown; body?: unknown };
        if (typeof v.custom_id !== 'string' || v.method !== 'POST' || v.url !== b.endpoint || !v.body) throw new Error('bad line');
        parsed.push({ custom_id: v.custom_id, body: v.body });
      } catch {
        errors.push({ code: 'invalid_request', message: 'line is not a valid batch request', line: i + 1 });
      }
    });
    if (plan.end === 'failed' || errors.length || new Set(parsed.map((p) => p.custom_id)).size !== parsed.length) {
      if (!errors.length) errors.push({ code: plan.end === 'failed' ? 'failed' : 'duplicate_custom_id', message: 'the input file was refused', line: null });
      Object.assign(b, { status: 'failed', failed_at: now(), errors: { object: 'list', data: errors } });
      return;
    }
    b.request_counts.total = parsed.length;
    if (cancelRequested.has(b.id)) return finishCancelled(b, [], parsed);
    Object.assign(b, { status: 'in_progress', in_progress_at: now() });
    const stepMs = (opts.inProgressMs ?? 50) / Math.max(1, parsed.length);
    const out: string[] = [];
    const err: string[] = [];
    const limit = plan.end === 'expired' ? Math.min(plan.answered ?? 0, parsed.length) : parsed.length;
    for (let i = 0; i < limit; i++) {
      if (cancelRequested.has(b.id)) return finishCancelled(b, out, parsed.slice(i), err);
      const p = parsed[i];
      const a = await answer(p.body);
      linesAnswered++;
      const line = JSON.stringify({ id: `batch_req_${b.id}_${i}`, custom_id: p.custom_id, response: { status_code: a.status, request_id: `req_${i}`, body: a.body }, error: null });
      if (a.status === 200) {
        out.push(line);
        b.request_counts.completed++;
      } else {
        err.push(line);
        b.request_counts.failed++;
      }
      // In small steps, so a cancel is seen soon even when a line takes long.
      for (let waited = 0; waited < stepMs && !cancelRequested.has(b.id); waited += 10) await sleep(Math.min(10, stepMs - waited));
    }
    if (plan.end === 'expired') {
      for (const p of parsed.slice(limit)) {
        err.push(JSON.stringify({ id: `batch_req_${b.id}_x`, custom_id: p.custom_id, response: null, error: { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' } }));
        b.request_counts.failed++;
      }
      writeFiles(b, out, err);
      Object.assign(b, { status: 'expired', expired_at: now() });
      return;
    }
    Object.assign(b, { status: 'finalizing', finalizing_at: now() });
    await sleep(opts.finalizingMs ?? 20);
    writeFiles(b, out, err);
    Object.assign(b, { status: 'completed', completed_at: now() });
  }

  function writeFiles(b: FakeBatch, out: string[], err: string[]): void {
    if (out.length) b.output_file_id = addFile(`${b.id}_output.jsonl`, 'batch_output', out.join('\n') + '\n').id;
    if (err.length) b.error_file_id = addFile(`${b.id}_error.jsonl`, 'batch_output', err.join('\n') + '\n').id;
  }

  function finishCancelled(b: FakeBatch, out: string[], rest: Array<{ custom_id: string }>, err: string[] = []): void {
    for (const p of rest) {
      err.push(JSON.stringify({ id: `batch_req_${b.id}_c`, custom_id: p.custom_id, response: null, error: { code: 'batch_cancelled', message: 'This request was cancelled.' } }));
      b.request_counts.failed++;
    }
    writeFiles(b, out, err);
    Object.assign(b, { status: 'cancelled', cancelled_at: now() });
  }

  return {
    files,
    batches,
    get linesAnswered() {
      return linesAnswered;
    },
    async handle(method, path, query, raw, headers, res) {
      let m: RegExpMatchArray | null;
      if (method === 'POST' && /\/files$/.test(path)) {
        // The client sends multipart/form-data: read it as fetch would (a test server with small uploads).
        // eslint-disable-next-line @typescript-eslint/no-deprecated
        const form = await new Request('http://local/files', { method: 'POST', headers: { 'content-type': String(headers['content-type'] ?? '') }, body: raw }).formData();
        const file = form.get('file');
        const purpose = form.get('purpose');
        if (!(file instanceof Blob) || typeof purpose !== 'string') {
          send(res, 400, { error: { message: "'file' and 'purpose' are required", type: 'invalid_request_error', code: null } });
          return true;
        }
        const name = (file as Blob & { name?: string }).name ?? 'upload.jsonl';
        send(res, 200, fileJson(addFile(name, purpose, await file.text())));
        return true;
      }
      if (method === 'GET' && /\/files$/.test(path)) {
        const purpose = query.get('purpose');
        const data = [...files.values()].filter((f) => !purpose || f.purpose === purpose).reverse().map(fileJson);
        send(res, 200, { object: 'list', data, has_more: false });
        return true;
      }
      if (method === 'GET' && (m = path.match(/\/files\/([^/]+)\/content$/))) {
        const f = files.get(m[1]);
        if (!f) notFound(res, `file ${m[1]}`);
        else {
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': Buffer.byteLength(f.text) });
          res.end(f.text);
        }
        return true;
      }
      if (method === 'GET' && (m = path.match(/\/files\/([^/]+)$/))) {
        const f = files.get(m[1]);
        if (!f) notFound(res, `file ${m[1]}`);
        else send(res, 200, fileJson(f));
        return true;
      }
      if (method === 'POST' && /\/batches$/.test(path)) {
        const body = JSON.parse(raw.toString('utf8') || '{}') as { input_file_id?: string; endpoint?: string; completion_window?: string; metadata?: Record<string, string> };
        const input = body.input_file_id ? files.get(body.input_file_id) : undefined;
        if (!input || input.purpose !== 'batch') {
          send(res, 400, { error: { message: `input_file_id ${JSON.stringify(body.input_file_id)} is not an uploaded file of purpose batch`, type: 'invalid_request_error', code: null } });
          return true;
        }
        if (body.endpoint !== '/v1/chat/completions' || body.completion_window !== '24h') {
          send(res, 400, { error: { message: 'endpoint must be /v1/chat/completions and completion_window 24h', type: 'invalid_request_error', code: null } });
          return true;
        }
        const b: FakeBatch = {
          id: `batch_fake_${batches.length + 1}`,
          object: 'batch',
          endpoint: body.endpoint,
          input_file_id: input.id,
          completion_window: body.completion_window,
          status: 'validating',
          output_file_id: null,
          error_file_id: null,
          created_at: now(),
          in_progress_at: null,
          finalizing_at: null,
          completed_at: null,
          expired_at: null,
          cancelled_at: null,
          failed_at: null,
          request_counts: { total: 0, completed: 0, failed: 0 },
          metadata: body.metadata ?? null,
          errors: null,
        };
        batches.push(b);
        void run(b, batches.length);
        await opts.onCreate?.(b);
        if (!res.destroyed) send(res, 200, b);
        return true;
      }
      if (method === 'GET' && /\/batches$/.test(path)) {
        // Newest first, as the API lists them; one page holds them all.
        send(res, 200, { object: 'list', data: [...batches].reverse(), first_id: batches.at(-1)?.id ?? null, last_id: batches[0]?.id ?? null, has_more: false });
        return true;
      }
      if (method === 'POST' && (m = path.match(/\/batches\/([^/]+)\/cancel$/))) {
        const b = batches.find((x) => x.id === m![1]);
        if (!b) notFound(res, `batch ${m[1]}`);
        else {
          if (['validating', 'in_progress', 'finalizing'].includes(b.status)) {
            cancelRequested.add(b.id);
            if (b.status !== 'finalizing') b.status = 'cancelling';
          }
          send(res, 200, b);
        }
        return true;
      }
      if (method === 'GET' && (m = path.match(/\/batches\/([^/]+)$/))) {
        const b = batches.find((x) => x.id === m![1]);
        if (!b) notFound(res, `batch ${m[1]}`);
        else send(res, 200, b);
        return true;
      }
      return false;
    },
  };
}
