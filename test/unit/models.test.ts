import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, test } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import { ModelSchema, type ModelConfig } from '../../core/config';
import { ErrorType } from '../../core/errors';
import { createContentCache, type ContentCache } from '../../lib/cache/content-cache';
import { abortableSleep, createLimiter, createRateGate, createSemaphore, type Clock } from '../../lib/models/limiter';
import { parseRetryAfterMs } from '../../lib/models/http-common';
import { createOpenAIModel, PLACEHOLDER_API_KEY, resolveApiKey, type OpenAIModelOptions } from '../../lib/models/openai-model';
import type { ChatRequest } from '../../lib/models/types';
import { faultReply, startFakeOpenAIServer, type FakeBehaviour } from '../../scripts/support/fake-openai-server';
import { REPO_ROOT } from '../../scripts/support/paths';
import { perTestCleanup } from '../support/cleanup';

const onCleanup = perTestCleanup();

// Every temp dir a test made, removed at the end.
const created: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fireact-models-'));
  created.push(dir);
  return dir;
}
afterAll(async () => {
  for (const d of created) await fs.rm(d, { recursive: true, force: true });
});

const API_KEY = 'sk-test-5ecret-key-never-shown';

async function setup(behaviour: FakeBehaviour, over: Partial<ModelConfig> = {}, modelOpts: Partial<OpenAIModelOptions> = {}) {
  const server = await startFakeOpenAIServer({ behaviour });
  onCleanup(() => server.close());
  const dir = await tempDir();
  const cache = createContentCache(dir);
  const config = modelConfig(server.url, over);
  const model = createOpenAIModel({ name: 'teacher', config, apiKey: API_KEY, cache, backoffBaseMs: 20, backoffMaxMs: 100, ...modelOpts });
  return { server, dir, cache, config, model };
}

function modelConfig(baseUrl: string, over: Partial<ModelConfig> = {}): ModelConfig {
  return ModelSchema.parse({ provider: 'openai', model: 'gpt-fake', baseUrl, apiKeyEnv: 'FAKE_OPENAI_KEY', timeoutMs: 5_000, ...over });
}

function ask(text: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return { messages: [{ role: 'user', content: text }], ...extra };
}

function isFailure(type: string, nonRetryable: boolean, check?: (f: ApplicationFailure) => void) {
  return (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure, `expected ApplicationFailure, got ${String(err)}`);
    assert.equal(err.type, type, err.message);
    assert.equal(err.nonRetryable, nonRetryable, err.message);
    assert.ok(!err.message.includes(API_KEY), `message leaks the key: ${err.message}`);
    assert.ok(!(JSON.stringify(err.details) ?? "").includes(API_KEY));
    check?.(err);
    return true;
  };
}

void test('a completion returns content and the usage the server reports, sending the request as configured', async () => {
  const { server, model } = await setup(() => ({ content: 'Thought: ok\nAction: finish[Paris]', usage: { prompt_tokens: 42, completion_tokens: 7 } }));
  const r = await model.complete({
    messages: [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'Capital of France?' },
    ],
    stop: ['\nObservation:'],
    maxTokens: 64,
    context: { task: 'hotpotqa', questionId: 'q1', questionText: 'Capital of France?', method: 'react', turn: 0, previousTurns: [] },
  });
  assert.deepEqual(r, { content: 'Thought: ok\nAction: finish[Paris]', promptTokens: 42, completionTokens: 7, cached: false, finishReason: 'stop' });
  assert.equal(server.completionRequests, 1);
  const sent = server.requests[0];
  assert.equal(sent.authorization, `Bearer ${API_KEY}`);
  assert.deepEqual(sent.body, {
    model: 'gpt-fake',
    messages: [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'Capital of France?' },
    ],
    max_tokens: 64,
    temperature: 0,
    stop: ['\nObservation:'],
  });
  assert.equal(model.name, 'teacher');
  assert.equal(model.provider, 'openai');
  assert.equal(model.model, 'gpt-fake');
});

void test('without usage in the response the token counts are estimated and flagged', async () => {
  const { model } = await setup(() => ({ content: '12345678', usage: null }));
  const r = await model.complete(ask('abcdefghijkl'));
  assert.equal(r.usageEstimated, true);
  assert.equal(r.promptTokens, 3);
  assert.equal(r.completionTokens, 2);
});

void test('a cache hit makes no HTTP request, also through a fresh cache and model on the same directory', async () => {
  const { server, dir, config, model } = await setup((_b, n) => `answer ${n}`);
  const ctx = (turn: number) => ({ task: 'hotpotqa', questionId: `q${turn}`, questionText: 'x', method: 'react', turn, previousTurns: [] });
  const first = await model.complete(ask('same prompt', { context: ctx(0) }));
  const second = await model.complete(ask('same prompt', { context: ctx(5) }));
  assert.equal(first.cached, false);
  assert.deepEqual(second, { ...first, cached: true });
  assert.equal(server.completionRequests, 1);

  // As after a worker restart: new cache object, new model, no key needed for what is cached.
  const restarted = createOpenAIModel({ name: 'teacher', config: { ...config, apiKeyEnv: 'FIREACT_TEST_UNSET_KEY' }, cache: createContentCache(dir) });
  assert.deepEqual(await restarted.complete(ask('same prompt')), { ...first, cached: true });
  assert.equal(server.completionRequests, 1);

  // Anything that changes the answer changes the key.
  assert.equal((await model.complete(ask('same prompt', { temperature: 0.7 }))).content, 'answer 2');
  assert.equal((await model.complete(ask('same prompt', { stop: ['\n'] }))).content, 'answer 3');
  assert.equal((await model.complete(ask('same prompt', { maxTokens: 9 }))).content, 'answer 4');
  assert.equal(server.completionRequests, 4);
});

void test('identical requests in flight together are sent once', async () => {
  const { server, model } = await setup(() => ({ content: 'shared', delayMs: 100 }));
  const rs = await Promise.all([1, 2, 3, 4].map(() => model.complete(ask('together'))));
  assert.equal(server.completionRequests, 1);
  assert.equal(rs.filter((r) => !r.cached).length, 1);
  assert.ok(rs.every((r) => r.content === 'shared'));
});

void test('429 with Retry-After (seconds) is waited out, then answered', async () => {
  const { server, model } = await setup((_b, n) =>
    n === 1 ? { status: 429, headers: { 'retry-after': '1' }, error: { message: 'slow down', type: 'requests', code: 'rate_limit_exceeded' } } : 'after wait',
  );
  const started = Date.now();
  const r = await model.complete(ask('rate limited'));
  assert.equal(r.content, 'after wait');
  assert.equal(server.completionRequests, 2);
  assert.ok(Date.now() - started >= 1000, `waited only ${Date.now() - started} ms`);
  const [a, b] = server.requests;
  assert.ok(b.receivedAt - a.endedAt! >= 990, `second request came ${b.receivedAt - a.endedAt!} ms after the 429`);
});

void test('retry-after-ms is honoured, and when attempts run out the failure is ModelRateLimited, retryable', async () => {
  const { server, model } = await setup(
    () => ({ status: 429, headers: { 'retry-after-ms': '300' }, error: { message: 'slow down', type: 'requests', code: 'rate_limit_exceeded' } }),
    {},
    { maxAttempts: 3 },
  );
  const started = Date.now();
  await assert.rejects(
    model.complete(ask('always limited')),
    isFailure(ErrorType.ModelRateLimited, false, (f) => {
      assert.match(f.message, /after 3 attempts/);
      assert.match(f.message, /slow down/);
      assert.ok(f.nextRetryDelay, 'passes the server wait on to Temporal');
    }),
  );
  assert.ok(Date.now() - started >= 600);
  assert.equal(server.completionRequests, 3);
});

void test('a Retry-After longer than the in-call limit goes to Temporal at once as nextRetryDelay', async () => {
  // "At once": the call never sleeps on the injected clock.
  const slept: number[] = [];
  const clock: Clock = { now: () => Date.now(), sleep: (ms, signal) => (slept.push(ms), abortableSleep(ms, signal)) };
  const { server, model } = await setup(() => ({ status: 429, headers: { 'retry-after': '120' }, error: { message: 'later' } }), {}, { clock });
  await assert.rejects(
    model.complete(ask('long wait')),
    isFailure(ErrorType.ModelRateLimited, false, (f) => assert.equal(f.nextRetryDelay, 120_000)),
  );
  assert.deepEqual(slept, []);
  assert.equal(server.completionRequests, 1);
});

void test('429 insufficient_quota is not retried', async () => {
  const { server, model } = await setup(() => ({ status: 429, error: { message: 'You exceeded your current quota', type: 'insufficient_quota', code: 'insufficient_quota' } }));
  await assert.rejects(model.complete(ask('no money')), isFailure(ErrorType.ModelRateLimited, true, (f) => assert.match(f.message, /quota/)));
  assert.equal(server.completionRequests, 1);
});

void test('500 then success; connection reset then success; each answered once', async () => {
  const { server, model } = await setup((b, n) => {
    const q = b.messages?.[0]?.content;
    if (q === 'five hundred' && n === 1) return faultReply('500');
    if (q === 'reset' && n === 3) return faultReply('reset');
    return `ok ${q}`;
  });
  assert.equal((await model.complete(ask('five hundred'))).content, 'ok five hundred');
  assert.deepEqual(
    server.requests.map((r) => r.outcome),
    ['status 500', 'ok'],
  );
  assert.equal((await model.complete(ask('reset'))).content, 'ok reset');
  assert.deepEqual(
    server.requests.map((r) => r.outcome),
    ['status 500', 'ok', 'reset', 'ok'],
  );
  assert.equal(server.answered, 2);
});

void test('a hanging server times out and the request is sent again', async () => {
  const { server, model } = await setup((_b, n) => (n === 1 ? { fault: 'hang' } : 'after hang'), { timeoutMs: 300 });
  const started = Date.now();
  assert.equal((await model.complete(ask('hang'))).content, 'after hang');
  assert.ok(Date.now() - started >= 300);
  assert.equal(server.completionRequests, 2);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(server.requests[0].outcome, 'aborted');
});

void test('a truncated JSON body is retried; if it persists the failure is ModelUnavailable, retryable', async () => {
  const { server, model } = await setup(
    (b, n) => (b.messages?.[0]?.content === 'once' && n > 1 ? 'whole' : { fault: 'truncated' }),
    {},
    { maxAttempts: 3 },
  );
  await assert.rejects(
    model.complete(ask('always')),
    isFailure(ErrorType.ModelUnavailable, false, (f) => assert.match(f.message, /malformed response: body is not valid JSON/)),
  );
  assert.equal(server.completionRequests, 3);
  // Failures are not cached: asking again goes to the server again.
  await assert.rejects(model.complete(ask('always')), isFailure(ErrorType.ModelUnavailable, false));
  assert.equal(server.completionRequests, 6);
  assert.equal((await model.complete(ask('once'))).content, 'whole');
});

void test('empty choices, missing choices and null content are retryable ModelUnavailable with a clear message', async () => {
  const { server, model } = await setup(
    (b) => ({ fault: b.messages?.[0]?.content as 'empty-choices' | 'no-choices' | 'null-content' }),
    {},
    { maxAttempts: 2 },
  );
  const expected: Record<string, RegExp> = {
    'empty-choices': /empty "choices" array/,
    'no-choices': /no "choices" array/,
    'null-content': /no text content/,
  };
  for (const [fault, pattern] of Object.entries(expected)) {
    await assert.rejects(model.complete(ask(fault)), isFailure(ErrorType.ModelUnavailable, false, (f) => assert.match(f.message, pattern)));
  }
  assert.equal(server.completionRequests, 6);
});

void test('400, 401, 403, 404 and 422 fail at once, nonRetryable, naming model, endpoint and server message but never the key', async () => {
  const cases: Array<[number, string]> = [
    [400, ErrorType.ModelBadRequest],
    [401, ErrorType.ModelAuth],
    [403, ErrorType.ModelAuth],
    [404, ErrorType.ModelNotFound],
    [422, ErrorType.ModelBadRequest],
  ];
  const { server, model } = await setup((b) => {
    const status = Number(b.messages?.[0]?.content);
    // Like a careless server, echo the key back in the error.
    return { status, error: { message: `status ${status} for key ${API_KEY}`, type: 'invalid_request_error', code: 'x' } };
  });
  for (const [status, type] of cases) {
    const before = server.completionRequests;
    await assert.rejects(
      model.complete(ask(String(status))),
      isFailure(type, true, (f) => {
        assert.match(f.message, /model "teacher" \(gpt-fake at http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions\)/);
        assert.match(f.message, new RegExp(`HTTP ${status}: status ${status} for key \\[redacted\\]`));
      }),
    );
    assert.equal(server.completionRequests - before, 1, `status ${status} was retried`);
  }
});

void test('connection refused is retried, then a retryable ModelUnavailable', async () => {
  const server = await startFakeOpenAIServer();
  const url = server.url;
  await server.close();
  const dir = await tempDir();
  const model = createOpenAIModel({ name: 'teacher', config: modelConfig(url), apiKey: API_KEY, cache: createContentCache(dir), maxAttempts: 2, backoffBaseMs: 10 });
  await assert.rejects(model.complete(ask('anyone?')), isFailure(ErrorType.ModelUnavailable, false, (f) => assert.match(f.message, /connection failed/)));
});

void test('cancellation during a backoff ends the call at once with the signal reason', async () => {
  // The cancellation comes as the injected clock's backoff sleep starts: the call must end on it, not retry.
  const ac = new AbortController();
  const slept: number[] = [];
  const clock: Clock = {
    now: () => Date.now(),
    sleep: (ms, signal) => {
      slept.push(ms);
      ac.abort(new Error('activity cancelled'));
      return abortableSleep(ms, signal);
    },
  };
  const { server, model } = await setup(() => faultReply('503'), {}, { backoffBaseMs: 5_000, backoffMaxMs: 5_000, clock });
  await assert.rejects(model.complete(ask('cancel me'), ac.signal), /activity cancelled/);
  assert.equal(slept.length, 1, 'cancelled during the first backoff');
  assert.ok(slept[0] > 0, `a backoff of ${slept[0]} ms`);
  assert.equal(server.completionRequests, 1);
});

void test('the concurrency cap holds: the server never sees more than maxConcurrency requests at once', async () => {
  const { server, model } = await setup((b) => ({ content: `re ${b.messages?.[0]?.content}`, delayMs: 80 }), { maxConcurrency: 2 });
  const rs = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => model.complete(ask(`q${i}`))));
  assert.equal(rs.length, 6);
  assert.equal(server.completionRequests, 6);
  assert.equal(server.maxInFlight, 2);
});

void test('the requests-per-window cap holds at the server', async () => {
  const limiter = createLimiter({ maxConcurrency: 10, requestsPerMinute: 3, windowMs: 400 });
  const { server, model } = await setup((b) => `re ${b.messages?.[0]?.content}`, {}, { limiter });
  const started = Date.now();
  await Promise.all([1, 2, 3, 4, 5, 6, 7].map((i) => model.complete(ask(`q${i}`))));
  assert.ok(Date.now() - started >= 800, `7 requests at 3 per 400 ms took only ${Date.now() - started} ms`);
  const times = server.requests.map((r) => r.receivedAt).sort((a, b) => a - b);
  for (let i = 0; i + 3 < times.length; i++) {
    // Receipt lags the start by a little network time, hence the slack.
    assert.ok(times[i + 3] - times[i] >= 340, `4 requests within ${times[i + 3] - times[i]} ms`);
  }
});

void test('rate gate with a fake clock: starts are paced evenly at the cap, pause holds everyone', async () => {
  let now = 0;
  const sleepers: Array<{ at: number; resolve: () => void }> = [];
  const clock: Clock = {
    now: () => now,
    sleep: (ms) => new Promise<void>((resolve) => sleepers.push({ at: now + ms, resolve })),
  };
  const advance = async (ms: number) => {
    now += ms;
    for (const s of sleepers.splice(0).filter((s) => (s.at <= now ? (s.resolve(), false) : true))) sleepers.push(s);
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };
  // 2 per 1000 ms: one start every 500 ms, never two at once (a window edge cannot overflow).
  const gate = createRateGate({ limit: 2, windowMs: 1000, clock });
  let done = 0;
  const go = () => gate.acquire().then(() => done++);
  void go();
  void go();
  void go();
  await advance(0);
  assert.equal(done, 1);
  await advance(499);
  assert.equal(done, 1);
  await advance(1);
  assert.equal(done, 2);
  await advance(500);
  assert.equal(done, 3);

  gate.pause(500);
  void go();
  await advance(499); // the pacer has room, but the pause started at t=1000 runs to 1500
  assert.equal(done, 3);
  await advance(1);
  assert.equal(done, 4);
});

void test('semaphore: an aborted waiter leaves the queue without taking a slot', async () => {
  const sem = createSemaphore(1);
  const release = await sem.acquire();
  const ac = new AbortController();
  const waiting = sem.acquire(ac.signal);
  const next = sem.acquire();
  assert.equal(sem.waiting, 2);
  ac.abort(new Error('gone'));
  await assert.rejects(waiting, /gone/);
  assert.equal(sem.waiting, 1);
  release();
  release(); // a second release is ignored
  const r2 = await next;
  assert.equal(sem.inUse, 1);
  r2();
  assert.equal(sem.inUse, 0);
});

void test('parseRetryAfterMs reads retry-after-ms, seconds and HTTP dates', () => {
  const now = Date.parse('2024-01-01T00:00:00Z');
  assert.equal(parseRetryAfterMs(new Headers({ 'retry-after-ms': '250' }), now), 250);
  assert.equal(parseRetryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now), 250);
  assert.equal(parseRetryAfterMs(new Headers({ 'retry-after': '2' }), now), 2000);
  assert.equal(parseRetryAfterMs(new Headers({ 'retry-after': '0.5' }), now), 500);
  assert.equal(parseRetryAfterMs(new Headers({ 'retry-after': 'Mon, 01 Jan 2024 00:00:03 GMT' }), now), 3000);
  assert.equal(parseRetryAfterMs(new Headers({ 'retry-after': 'Sun, 31 Dec 2023 23:00:00 GMT' }), now), 0);
  assert.equal(parseRetryAfterMs(new Headers({ 'retry-after': 'soon' }), now), undefined);
  assert.equal(parseRetryAfterMs(new Headers(), now), undefined);
});

void test('resolveApiKey reads the named variable; a missing one is MissingSecret naming the variable only', async () => {
  const config = modelConfig('http://127.0.0.1:1/v1', { apiKeyEnv: 'FIREACT_TEST_KEY' });
  assert.equal(resolveApiKey(config, { FIREACT_TEST_KEY: 'sk-abc' }), 'sk-abc');
  assert.throws(
    () => resolveApiKey(config, { OTHER: 'sk-other-value' }),
    isFailure(ErrorType.MissingSecret, true, (f) => {
      assert.match(f.message, /FIREACT_TEST_KEY/);
      assert.ok(!f.message.includes('sk-other-value'));
    }),
  );
  assert.throws(() => resolveApiKey(config, { FIREACT_TEST_KEY: '  ' }), isFailure(ErrorType.MissingSecret, true));
  const keyless = ModelSchema.parse({ provider: 'openai', model: 'llama', baseUrl: 'http://127.0.0.1:8000/v1' });
  assert.equal(resolveApiKey(keyless, {}), PLACEHOLDER_API_KEY);

  // A model built without a key reads the environment only when it must send; a miss fails before any request.
  const { server } = await setup(() => 'never');
  const dir = await tempDir();
  const model = createOpenAIModel({ name: 'teacher', config: modelConfig(server.url, { apiKeyEnv: 'FIREACT_TEST_UNSET_KEY' }), cache: createContentCache(dir) });
  await assert.rejects(model.complete(ask('needs key')), isFailure(ErrorType.MissingSecret, true));
  assert.equal(server.completionRequests, 0);
});

void test('the fake server runs as its own process, prints its URL and logs requests as JSONL', async () => {
  const dir = await tempDir();
  const log = path.join(dir, 'requests.jsonl');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'test/support/fake-openai-server-main.ts'), '--faults', '1:500'], {
    cwd: REPO_ROOT,
    env: { ...process.env, FAKE_OPENAI_LOG: log },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  onCleanup(() => child.kill('SIGTERM'));
  const [url] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
  const cache: ContentCache = createContentCache(dir);
  const model = createOpenAIModel({ name: 'teacher', config: modelConfig(url), apiKey: API_KEY, cache, backoffBaseMs: 10 });
  const r = await model.complete(ask('Question: Which city is the capital of France?'));
  assert.match(r.content, /^Thought: .+\nAction: finish\[.+\]$/);
  const lines = (await fs.readFile(log, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { requestNumber: number; outcome: string; authorization?: string });
  assert.deepEqual(
    lines.map((l) => [l.requestNumber, l.outcome]),
    [
      [1, 'status 500'],
      [2, 'ok'],
    ],
  );
  assert.ok(lines.every((l) => l.authorization === undefined));
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0);
});
