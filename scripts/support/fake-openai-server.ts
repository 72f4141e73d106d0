// An OpenAI-compatible chat endpoint on 127.0.0.1 for tests: real HTTP, real response shapes, and
// scripted faults (429, 5xx, resets, hangs, broken bodies). Every request is logged with its time
// and outcome so a test can prove what the client sent and that nothing was answered twice.
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import type http from 'node:http';
import { sendJson, serveLocal } from './local-http';
import { createFakeBatchApi, type FakeBatchApi, type FakeBatchOptions, type LineAnswer } from './fake-batch-api';

export interface ChatCompletionBody {
  model?: string;
  messages?: Array<{ role: string; content: string }>;
  stop?: string[] | string;
  max_tokens?: number;
  temperature?: number;
  [k: string]: unknown;
}

export interface OpenAIErrorBody {
  message: string;
  type?: string;
  code?: string | null;
}

export type FaultKind = 'reset' | 'hang' | 'truncated' | 'empty-choices' | 'no-choices' | 'null-content';

/** What the behaviour answers: text content, an HTTP error, or a broken reply. `delayMs` waits before answering. */
export type FakeReply =
  | string
  | { content: string; finishReason?: string; usage?: { prompt_tokens: number; completion_tokens: number } | null; delayMs?: number; headers?: Record<string, string> }
  | { status: number; headers?: Record<string, string>; error?: OpenAIErrorBody; rawBody?: string; delayMs?: number }
  | { fault: FaultKind; delayMs?: number };

/** `requestNumber` counts chat-completion requests from 1. */
export type FakeBehaviour = (body: ChatCompletionBody, requestNumber: number) => FakeReply | Promise<FakeReply>;

export interface FakeRequest {
  /** 1-based over all requests (any path). */
  seq: number;
  /** 1-based over chat-completion requests; 0 for other paths. */
  requestNumber: number;
  method: string;
  path: string;
  body: unknown;
  authorization?: string;
  receivedAt: number;
  endedAt?: number;
  /** "ok" (content sent), "status <n>", "reset", "hang", "truncated", "empty-choices", ... or "aborted" when the client gave up first. */
  outcome?: string;
}

export interface FakeOpenAIServer {
  /** Base URL for the openai client, e.g. http://127.0.0.1:PORT/v1 */
  readonly url: string;
  readonly port: number;
  readonly requests: readonly FakeRequest[];
  /** Chat-completion requests received. */
  readonly completionRequests: number;
  /** Chat-completion requests answered with content. */
  readonly answered: number;
  readonly inFlight: number;
  /** The most chat-completion requests open at once since start (or the last clearLog). */
  readonly maxInFlight: number;
  /** The Files and Batches routes (always served); their lines are answered by the same behaviour. */
  readonly batchApi: FakeBatchApi;
  setBehaviour(behaviour: FakeBehaviour): void;
  clearLog(): void;
  close(): Promise<void>;
}

export interface FakeServerOptions {
  behaviour?: FakeBehaviour;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Appends one JSON line per finished request (for tests that run the server in another process). */
  logFile?: string;
  /** Keep every request (with its body) in `requests` (default true; a long benchmark turns it off to bound memory). */
  keepLog?: boolean;
  /** Called once per finished request, whatever its outcome. */
  onFinish?: (entry: FakeRequest) => void;
  models?: string[];
  /** Timing and scripted endings of batches (see fake-batch-api.ts). */
  batch?: FakeBatchOptions;
}

function roughTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 6);
}

/**
 * A deterministic ReAct-style teacher. By default it answers at once with `finish[...]`; with
 * `searchFirst` it first asks `search[...]` when the conversation has no assistant turn yet.
 */
export function fakeTeacher(opts: { searchFirst?: boolean; answer?: (question: string) => string } = {}): FakeBehaviour {
  return (body) => {
    const messages = body.messages ?? [];
    const userTurns = messages.filter((m) => m.role === 'user');
    const question = userTurns[0]?.content ?? '';
    if (opts.searchFirst && !messages.some((m) => m.role === 'assistant')) {
      const query = question.replace(/^Question:\s*/i, '').split(/\s+/).slice(0, 8).join(' ');
      return `Thought: I should look this up first.\nAction: search[${query}]`;
    }
    const answer = opts.answer
      ? opts.answer(question)
      : /\nA\.\s/.test(question)
        ? 'ABCD'[parseInt(shortHash(question), 16) % 4]
        : `fake answer ${shortHash(question)}`;
    return `Thought: I can answer this now.\nAction: finish[${answer}]`;
  };
}

/** The replies behind the CLI's --faults names, usable from tests too. */
export function faultReply(kind: string): FakeReply {
  switch (kind) {
    case '429':
      return { status: 429, headers: { 'retry-after': '1' }, error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } };
    case '400':
      return { status: 400, error: { message: 'Invalid request', type: 'invalid_request_error', code: null } };
    case '401':
      return { status: 401, error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } };
    case '404':
      return { status: 404, error: { message: 'The model does not exist', type: 'invalid_request_error', code: 'model_not_found' } };
    case '500':
    case '502':
    case '503':
      return { status: Number(kind), error: { message: 'The server had an error', type: 'server_error', code: null } };
    case 'reset':
    case 'hang':
    case 'truncated':
    case 'empty-choices':
    case 'no-choices':
    case 'null-content':
      return { fault: kind };
    default:
      throw new Error(`unknown fault "${kind}"`);
  }
}

function completionJson(body: ChatCompletionBody, n: number, content: string | null, opts: { finishReason?: string; usage?: { prompt_tokens: number; completion_tokens: number } | null }) {
  const promptText = (body.messages ?? []).map((m) => m.content ?? '').join('\n');
  const usage =
    opts.usage === null
      ? undefined
      : (opts.usage ?? { prompt_tokens: roughTokens(promptText), completion_tokens: roughTokens(content ?? '') });
  return {
    id: `chatcmpl-fake-${n}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: body.model ?? 'fake-model',
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: opts.finishReason ?? 'stop' }],
    usage: usage && { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
    system_fingerprint: 'fp_fake',
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function startFakeOpenAIServer(opts: FakeServerOptions = {}): Promise<FakeOpenAIServer> {
  let behaviour: FakeBehaviour = opts.behaviour ?? fakeTeacher();
  const models = opts.models ?? ['fake-model'];
  let requests: FakeRequest[] = [];
  let seq = 0;
  let completions = 0;
  let answered = 0;
  let inFlight = 0;
  let maxInFlight = 0;

  function finish(entry: FakeRequest, outcome: string): void {
    if (entry.outcome) return;
    entry.outcome = outcome;
    entry.endedAt = Date.now();
    if (outcome === 'ok') answered++;
    opts.onFinish?.(entry);
    if (opts.logFile) {
      const { authorization: _auth, ...rest } = entry;
      appendFileSync(opts.logFile, JSON.stringify(rest) + '\n');
    }
  }

  async function handleCompletion(entry: FakeRequest, body: ChatCompletionBody, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let reply: FakeReply;
    try {
      reply = await behaviour(body, entry.requestNumber);
    } catch (err) {
      sendJson(res, 500, { error: { message: `fake behaviour threw: ${(err as Error).message}`, type: 'server_error', code: null } });
      finish(entry, 'status 500');
      return;
    }
    if (typeof reply !== 'string' && reply.delayMs) await sleep(reply.delayMs);
    // The client may have given up meanwhile (req itself is always destroyed once its body is read).
    if (res.destroyed || req.socket.destroyed) return;
    if (typeof reply === 'string') reply = { content: reply };

    if ('fault' in reply) {
      switch (reply.fault) {
        case 'reset':
          finish(entry, 'reset');
          req.socket.destroy();
          return;
        case 'hang':
          // Never answers; the entry ends as "aborted" when the client gives up.
          return;
        case 'truncated': {
          const full = JSON.stringify(completionJson(body, entry.requestNumber, 'cut short', {}));
          const part = full.slice(0, Math.floor(full.length / 2));
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(part) });
          res.end(part);
          finish(entry, 'truncated');
          return;
        }
        case 'empty-choices':
        case 'no-choices':
        case 'null-content': {
          const json: Record<string, unknown> = completionJson(body, entry.requestNumber, null, {});
          if (reply.fault === 'empty-choices') json.choices = [];
          if (reply.fault === 'no-choices') delete json.choices;
          sendJson(res, 200, json);
          finish(entry, reply.fault);
          return;
        }
      }
    }
    if ('status' in reply) {
      if (reply.rawBody !== undefined) {
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(reply.rawBody);
      } else {
        sendJson(res, reply.status, { error: reply.error ?? { message: `status ${reply.status}`, type: 'error', code: null } }, reply.headers);
      }
      finish(entry, `status ${reply.status}`);
      return;
    }
    sendJson(res, 200, completionJson(body, entry.requestNumber, reply.content, reply), reply.headers);
    finish(entry, 'ok');
  }

  // A batch line gets what /chat/completions would have answered for its body.
  let batchLines = 0;
  async function answerLine(body: unknown): Promise<LineAnswer> {
    const b = body as ChatCompletionBody;
    const n = ++batchLines;
    let reply: FakeReply;
    try {
      reply = await behaviour(b, n);
    } catch (err) {
      return { status: 500, body: { error: { message: `fake behaviour threw: ${(err as Error).message}`, type: 'server_error', code: null } } };
    }
    if (typeof reply === 'string') reply = { content: reply };
    if ('status' in reply) return { status: reply.status, body: { error: reply.error ?? { message: `status ${reply.status}`, type: 'error', code: null } } };
    if ('fault' in reply) {
      if (reply.fault === 'empty-choices' || reply.fault === 'no-choices' || reply.fault === 'null-content') {
        const json: Record<string, unknown> = completionJson(b, n, null, {});
        if (reply.fault === 'empty-choices') json.choices = [];
        if (reply.fault === 'no-choices') delete json.choices;
        return { status: 200, body: json };
      }
      return { status: 500, body: { error: { message: 'The server had an error', type: 'server_error', code: null } } };
    }
    return { status: 200, body: completionJson(b, n, reply.content, reply) };
  }
  const batchApi = createFakeBatchApi(answerLine, opts.batch);

  const server = await serveLocal((req, res, rawBytes) => {
    const [path, search] = (req.url ?? '/').split('?');
    const raw = rawBytes.toString('utf8');
    let body: unknown = raw;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
    }
    const isCompletion = req.method === 'POST' && /\/chat\/completions$/.test(path);
    const entry: FakeRequest = {
      seq: ++seq,
      requestNumber: isCompletion ? ++completions : 0,
      method: req.method ?? '',
      path,
      body,
      authorization: req.headers.authorization,
      receivedAt: Date.now(),
    };
    if (opts.keepLog !== false) requests.push(entry);

    if (isCompletion) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      res.on('close', () => {
        inFlight--;
        finish(entry, 'aborted');
      });
      if (typeof body !== 'object' || body === null) {
        sendJson(res, 400, { error: { message: 'request body is not JSON', type: 'invalid_request_error', code: null } });
        finish(entry, 'status 400');
        return;
      }
      if ((body as ChatCompletionBody).stream) {
        sendJson(res, 400, { error: { message: 'the fake server does not stream', type: 'invalid_request_error', code: null } });
        finish(entry, 'status 400');
        return;
      }
      handleCompletion(entry, body as ChatCompletionBody, req, res).catch((err: Error) => {
        if (!res.headersSent) sendJson(res, 500, { error: { message: err.message, type: 'server_error', code: null } });
        finish(entry, 'status 500');
      });
      return;
    }
    if (req.method === 'GET' && /\/models$/.test(path)) {
      sendJson(res, 200, { object: 'list', data: models.map((id) => ({ id, object: 'model', created: 0, owned_by: 'fake' })) });
      finish(entry, 'ok');
      return;
    }
    batchApi
      .handle(req.method ?? '', path, new URLSearchParams(search ?? ''), rawBytes, req.headers, res)
      .then((handled) => {
        if (handled) {
          finish(entry, `status ${res.statusCode}`);
          return;
        }
        sendJson(res, 404, { error: { message: `no route ${req.method} ${path}`, type: 'invalid_request_error', code: 'unknown_url' } });
        finish(entry, 'status 404');
      })
      .catch((err: Error) => {
        if (!res.headersSent) sendJson(res, 500, { error: { message: err.message, type: 'server_error', code: null } });
        finish(entry, 'status 500');
      });
  }, opts.port);

  return {
    url: `http://127.0.0.1:${server.port}/v1`,
    port: server.port,
    get requests() {
      return requests;
    },
    get completionRequests() {
      return completions;
    },
    get answered() {
      return answered;
    },
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    batchApi,
    setBehaviour(b) {
      behaviour = b;
    },
    clearLog() {
      requests = [];
      seq = 0;
      completions = 0;
      answered = 0;
      maxInFlight = inFlight;
    },
    close: server.close,
  };
}
