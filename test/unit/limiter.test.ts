// The per-model limiter: rate-limit headers, 429s with and without Retry-After, paced RPM/TPM caps,
// and AIMD concurrency. Timing rules run on an injected clock; the wire tests use the benchmark's
// provider (sliding-window caps, x-ratelimit-* headers) and assert lower bounds only.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, test } from '@jest/globals';
import { createContentCache } from '../../lib/cache/content-cache';
import { createLimiter, createRateGate, parseRateLimitHeaders, parseResetDuration, type Clock, type Limiter } from '../../lib/models/limiter';
import { createOpenAIModel } from '../../lib/models/openai-model';
import { ModelSchema } from '../../core/config';
import { startProvider } from '../../scripts/bench/provider';
import { startFakeOpenAIServer, type FakeBehaviour } from '../../scripts/support/fake-openai-server';
import { perTestCleanup } from '../support/cleanup';

const onCleanup = perTestCleanup();

const created: string[] = [];
afterAll(async () => {
  for (const d of created) await fs.rm(d, { recursive: true, force: true });
});

async function modelAt(url: string, limiter: Limiter) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fireact-limiter-'));
  created.push(dir);
  const config = ModelSchema.parse({ provider: 'openai', model: 'gpt-fake', baseUrl: url, timeoutMs: 10_000 });
  return createOpenAIModel({ name: 'teacher', config, cache: createContentCache(dir), limiter, backoffBaseMs: 20, backoffMaxMs: 100 });
}

const ask = (text: string) => ({ messages: [{ role: 'user' as const, content: text }] });

/** A clock that moves only when the test says; sleepers wake in order. */
function fakeClock() {
  let now = 0;
  const sleepers: Array<{ at: number; resolve: () => void }> = [];
  const clock: Clock = {
    now: () => now,
    sleep: (ms) => new Promise<void>((resolve) => sleepers.push({ at: now + ms, resolve })),
  };
  const advance = async (ms: number) => {
    now += ms;
    for (const s of sleepers.splice(0).filter((s) => (s.at <= now ? (s.resolve(), false) : true))) sleepers.push(s);
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };
  return { clock, advance };
}

void test('x-ratelimit-* headers and reset durations are read as OpenAI sends them', () => {
  assert.equal(parseResetDuration('1s'), 1000);
  assert.equal(parseResetDuration('6m0s'), 360_000);
  assert.equal(parseResetDuration('20ms'), 20);
  assert.equal(parseResetDuration('1h2m3.5s'), 3_723_500);
  assert.equal(parseResetDuration('0.5'), 500);
  assert.equal(parseResetDuration('soon'), undefined);
  assert.equal(parseResetDuration('5s later'), undefined);
  const h = new Headers({
    'x-ratelimit-limit-requests': '500',
    'x-ratelimit-remaining-requests': '499',
    'x-ratelimit-reset-requests': '120ms',
    'x-ratelimit-limit-tokens': '30000',
    'x-ratelimit-remaining-tokens': '29000',
    'x-ratelimit-reset-tokens': '2s',
  });
  assert.deepEqual(parseRateLimitHeaders(h), { limitRequests: 500, remainingRequests: 499, resetRequestsMs: 120, limitTokens: 30000, remainingTokens: 29000, resetTokensMs: 2000 });
  assert.deepEqual(parseRateLimitHeaders(new Headers({ 'x-ratelimit-limit-requests': 'lots' })), {});
});

void test('AIMD: a 429 halves concurrency once per round trip, replies grow it back, slow replies shrink it', async () => {
  const { clock, advance } = fakeClock();
  const limiter = createLimiter({ maxConcurrency: 16, clock });
  // Until the first reply shows whether the server declares caps, one request at a time.
  const probe = await limiter.acquire();
  const second = limiter.acquire();
  await advance(0);
  assert.equal(limiter.active, 1);
  probe.done({ kind: 'ok' });
  (await second).done({ kind: 'ok' });
  assert.equal(limiter.stats().concurrency, 16);

  const held = await Promise.all(Array.from({ length: 16 }, () => limiter.acquire()));
  assert.equal(limiter.stats().concurrency, 16);
  const waiting = limiter.acquire();
  await advance(0);
  assert.equal(limiter.queued, 1);
  await advance(10);
  held[0].done({ kind: 'rate-limited' });
  assert.equal(limiter.stats().concurrency, 8, 'halved from the 16 in flight');
  // The others were sent before the cut: their 429s belong to the same overload and cut nothing more.
  held[1].done({ kind: 'rate-limited' });
  held[2].done({ kind: 'rate-limited' });
  assert.equal(limiter.stats().concurrency, 8);
  assert.equal(limiter.stats().rateLimited, 3);
  await advance(5);
  for (const p of held.slice(3)) p.done({ kind: 'error' });
  const later = await waiting;
  await advance(10);
  later.done({ kind: 'rate-limited' });
  assert.equal(limiter.stats().concurrency, 1, 'a request sent after the cut halves again (from the 1 in flight)');

  // Additive increase: one slot per window's worth of replies.
  for (let i = 0; i < 10; i++) (await limiter.acquire()).done({ kind: 'ok' });
  const grown = limiter.stats().concurrency;
  assert.ok(grown >= 3 && grown <= 5, `grew to ${grown} after 10 replies`);

  // Latency: 30 replies at 300 ms set the baseline; replies at 10x that cut by a quarter.
  const fresh = createLimiter({ maxConcurrency: 40, clock });
  const timed = async (ms: number) => {
    const p = await fresh.acquire();
    await advance(ms);
    p.done({ kind: 'ok' });
  };
  for (let i = 0; i < 30; i++) await timed(300);
  assert.equal(fresh.stats().concurrency, 40);
  for (let i = 0; i < 30 && fresh.stats().decreases === 0; i++) await timed(3000);
  assert.equal(fresh.stats().decreases, 1);
  assert.ok(fresh.stats().concurrency < 40);
});

void test('request pacer under a 300/min cap: late wake-ups lose no rate, and no 60 s window passes the cap', async () => {
  const { clock, advance } = fakeClock();
  const gate = createRateGate({ limit: 300, windowMs: 60_000, safety: 0.97, clock });
  const starts: number[] = [];
  const keepWaiting = () => {
    void gate.acquire().then(() => {
      starts.push(clock.now());
      keepWaiting();
    });
  };
  for (let i = 0; i < 20; i++) keepWaiting();
  // A busy event loop: steps of 1 to 400 ms, so most waiters wake late.
  let seed = 7;
  while (clock.now() < 180_000) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    await advance(1 + (seed % 400));
  }
  let most = 0;
  for (let i = 0, j = 0; i < starts.length; i++) {
    while (starts[i] - starts[j] >= 60_000) j++;
    most = Math.max(most, i - j + 1);
  }
  assert.ok(most <= 296, `${most} starts in one 60 s window`);
  const perMinute = (starts.length / clock.now()) * 60_000;
  assert.ok(perMinute >= 0.95 * 300, `only ${perMinute.toFixed(1)} starts per minute`);
});

void test('token pacer: a TPM cap spreads tokens over the window, and replies correct the estimate', async () => {
  const { clock, advance } = fakeClock();
  // 600 tokens per 1000 ms less 3%: 0.582 per ms, with a one-second burst.
  const gate = createRateGate({ limit: 600, windowMs: 1000, safety: 0.97, burstMs: 1000, clock });
  let done = 0;
  const go = (cost: number) => gate.acquire(undefined, cost).then(() => done++);
  void go(300);
  void go(300);
  await advance(0);
  assert.equal(done, 1, 'the second 300 waits until the bucket holds 300 again');
  await advance(25);
  assert.equal(done, 1);
  await advance(10);
  assert.equal(done, 2);
  // The reply said 100 tokens were used by a request estimated at 300: 200 come back at once.
  gate.adjust(200);
  void go(150);
  await advance(0);
  assert.equal(done, 3);
});

void test('a cap advertised only in headers is learned from the first reply: no 429 after it', async () => {
  // 10 requests per 1000 ms (the benchmark provider's sliding window, shrunk from a minute).
  const provider = await startProvider({ medianMs: 0, sigma: 0, searchMedianMs: 0, rpm: 10, windowMs: 1000 });
  onCleanup(() => provider.close());
  const limiter = createLimiter({ maxConcurrency: 64, windowMs: 1000 });
  const model = await modelAt(provider.model.url, limiter);
  const started = Date.now();
  await Promise.all(Array.from({ length: 25 }, (_, i) => model.complete(ask(`question ${i}`))));
  const seconds = (Date.now() - started) / 1000;
  assert.equal(limiter.stats().requestsPerMinute, 10, 'the cap came from x-ratelimit-limit-requests');
  assert.equal(provider.stats.answered, 25);
  // A client that ignored the headers would send all 25 at once and meet 15 refusals.
  assert.ok(provider.stats.rateLimited <= 1, `${provider.stats.rateLimited} requests answered 429`);
  assert.ok(seconds >= 2.2, `25 requests at 10 per second took only ${seconds} s`);
});

void test('remaining 0 holds every start until the advertised reset', async () => {
  let first = true;
  const behaviour: FakeBehaviour = () => {
    if (!first) return 'Thought: ok\nAction: finish[yes]';
    first = false;
    return { content: 'Thought: ok\nAction: finish[yes]', headers: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '400ms' } };
  };
  const server = await startFakeOpenAIServer({ behaviour });
  onCleanup(() => server.close());
  const model = await modelAt(server.url, createLimiter({ maxConcurrency: 8 }));
  await Promise.all([model.complete(ask('a')), model.complete(ask('b')), model.complete(ask('c'))]);
  const [a, b, c] = server.requests.map((r) => r.receivedAt);
  assert.ok(b - a >= 380 && c - a >= 380, `sent ${b - a} ms and ${c - a} ms after a reply that said none remain for 400 ms`);
});

void test('429: Retry-After holds every caller of the model; without it the advertised reset does', async () => {
  const scripts: Record<string, FakeBehaviour> = {
    'retry-after-ms': (_b, n) => (n === 1 ? { status: 429, headers: { 'retry-after-ms': '300' }, error: { message: 'slow down', code: 'rate_limit_exceeded' } } : 'Thought: ok\nAction: finish[yes]'),
    'reset header': (_b, n) =>
      n === 1
        ? { status: 429, headers: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '0.3s' }, error: { message: 'slow down', code: 'rate_limit_exceeded' } }
        : 'Thought: ok\nAction: finish[yes]',
  };
  for (const [name, behaviour] of Object.entries(scripts)) {
    const server = await startFakeOpenAIServer({ behaviour });
    onCleanup(() => server.close());
    const limiter = createLimiter({ maxConcurrency: 8 });
    const model = await modelAt(server.url, limiter);
    await Promise.all([model.complete(ask('x')), model.complete(ask('y'))]);
    const times = server.requests.map((r) => r.receivedAt);
    assert.equal(times.length, 3, `${name}: one refusal, then both answered`);
    assert.ok(times[1] - times[0] >= 290 && times[2] - times[0] >= 290, `${name}: sent again ${times[1] - times[0]} / ${times[2] - times[0]} ms after the 429`);
    assert.equal(limiter.stats().rateLimited, 1);
  }
});

void test('concurrency adapts to a server that refuses more than 3 at once', async () => {
  const server = await startFakeOpenAIServer({
    behaviour: () =>
      server.inFlight > 3
        ? { status: 429, headers: { 'retry-after-ms': '30' }, error: { message: 'too many concurrent requests', code: 'rate_limit_exceeded' } }
        : { content: 'Thought: ok\nAction: finish[yes]', delayMs: 40 },
  });
  onCleanup(() => server.close());
  const limiter = createLimiter({ maxConcurrency: 32 });
  const model = await modelAt(server.url, limiter);
  await Promise.all(Array.from({ length: 40 }, (_, i) => model.complete(ask(`q${i}`))));
  const s = limiter.stats();
  assert.equal(server.answered, 40);
  assert.ok(s.decreases >= 2, `${s.decreases} cuts`);
  assert.ok(s.concurrency <= 8, `concurrency settled at ${s.concurrency}`);
  assert.equal(s.rateLimited, server.completionRequests - 40, 'every 429 was seen by the limiter');
  // Without adaptation the 40 would go out together and ~36 would be refused each round.
  assert.ok(s.rateLimited < 60, `${s.rateLimited} refusals`);
});
