// The benchmark's provider, on the shared fake servers: an OpenAI-compatible ReAct teacher whose
// replies take a lognormal time, with RPM and TPM caps counted over a sliding 60 s window of
// receipts, x-ratelimit-* headers and 429s with Retry-After; and a SerpAPI-like search endpoint.
// Latencies and step counts are functions of the request's content, so every run (ours and the
// lock-step reference) meets the same provider, and each episode's own chain of latencies is known.
import { createHash } from 'node:crypto';
import { startFakeOpenAIServer, type ChatCompletionBody, type FakeOpenAIServer, type FakeReply } from '../support/fake-openai-server';
import { startFakeSerpApi, type FakeServer } from '../support/fake-search-servers';

export interface ProviderOptions {
  /** Median reply time of a completion and its spread (sigma of the log). */
  medianMs: number;
  sigma: number;
  searchMedianMs: number;
  /** Caps per window (none by default); the window is 60 s unless a test shrinks it. */
  rpm?: number;
  tpm?: number;
  windowMs?: number;
  /** Most model calls one ReAct episode takes (1..maxCalls, by a hash of the question). */
  maxCalls?: number;
}

export interface ProviderStats {
  /** Completion requests received, answered with content, refused with 429. */
  requests: number;
  answered: number;
  rateLimited: number;
  /** Answered requests whose (question, turn) had been answered before: calls paid twice (a retried episode re-sends only what was in flight). */
  repeated: number;
  /** Prompt + completion tokens of the answered requests (what TPM counts). */
  tokens: number;
  /** Σ (end - start) of completion requests, for the mean in flight. */
  busyMs: number;
  firstAt?: number;
  lastAt?: number;
  /** Per episode (a hash of its question): the sum of its own completion and search latencies. */
  chains: Map<string, number>;
  answeredKeys: Set<string>;
}

export interface Provider {
  /** Read on every request: a run may change the latency or the caps between phases. */
  readonly options: ProviderOptions;
  model: FakeOpenAIServer;
  search: FakeServer;
  readonly stats: ProviderStats;
  /** Starts a fresh count (and the server's peak in flight). */
  reset(): void;
  /** The longest chain of one episode's own latencies: no schedule can finish before it. */
  criticalPathMs(): number;
  close(): Promise<void>;
}

export const SEARCH_KEY = 'bench-search-key';

function unit(text: string): number {
  // Two uniforms in (0, 1) from one hash, for Box-Muller.
  const h = createHash('sha256').update(text).digest();
  return (h.readUInt32BE(0) + 0.5) / 2 ** 32;
}

/** A lognormal draw determined by `key`: median × e^(sigma·z). */
function lognormalMs(key: string, median: number, sigma: number): number {
  if (median <= 0) return 0;
  const u1 = unit(`${key}#1`);
  const u2 = unit(`${key}#2`);
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return Math.round(median * Math.exp(sigma * z));
}

const tokensOf = (text: string) => Math.max(1, Math.ceil(text.length / 4));
const seconds = (ms: number) => `${(Math.max(0, ms) / 1000).toFixed(3)}s`;

/** Sliding-window counter of units by receipt time. */
function windowCounter(limit: number, windowMs: number) {
  const entries: Array<{ at: number; n: number }> = [];
  let used = 0;
  const trim = (now: number) => {
    while (entries.length && entries[0].at <= now - windowMs) used -= entries.shift()!.n;
  };
  return {
    limit,
    /** Milliseconds until `n` more fit (0 = now). */
    waitFor(n: number, now: number): number {
      trim(now);
      if (used + n <= limit) return 0;
      let free = limit - used;
      for (const e of entries) {
        free += e.n;
        if (free >= n) return e.at + windowMs - now;
      }
      return windowMs;
    },
    take(n: number, now: number) {
      entries.push({ at: now, n });
      used += n;
    },
    remaining: (now: number) => (trim(now), Math.max(0, limit - used)),
    resetMs: (now: number) => (trim(now), entries.length ? entries[0].at + windowMs - now : 0),
  };
}

/**
 * The teacher's reply to a chat request: `q` names the episode (question under a method's prompt),
 * `turn` its step. Content depends only on the request, so runs are comparable.
 */
export function teacherReply(body: ChatCompletionBody, maxCalls: number): { content: string; q: string; turn: number } {
  const messages = body.messages ?? [];
  // One episode = one question under one method's prompt (the system message).
  const system = messages.find((m) => m.role === 'system')?.content ?? '';
  const question = messages.find((m) => m.role === 'user')?.content ?? '';
  const q = createHash('sha256').update(`${system}\n${question}`).digest('hex').slice(0, 10);
  const turn = messages.filter((m) => m.role === 'assistant').length;
  // Multi-step methods stop at "\nObservation"; single-turn ones must answer at once.
  const multiStep = Array.isArray(body.stop) ? body.stop.length > 0 : !!body.stop;
  const calls = multiStep ? 1 + Math.floor(unit(`${q}#calls`) * maxCalls) : 1;
  // The question's own words make each trajectory distinct, as real ones are (curation's
  // near-duplicate check compares them).
  const words = question.replace(/^Question:\s*/i, '').split(/\s+/).filter(Boolean);
  const topic = words.slice(turn * 3, turn * 3 + 8).join(' ') || words.slice(0, 8).join(' ');
  const content =
    turn + 1 < calls
      ? `Thought: I need to find out about ${topic}.\nAction: search[${q} step ${turn + 1} ${topic}]`
      : `Thought: From what I found about ${words.slice(0, 8).join(' ')}, I can answer now.\nAction: finish[answer ${q}]`;
  return { content, q, turn };
}

export async function startProvider(opts: ProviderOptions): Promise<Provider> {
  const windowMs = opts.windowMs ?? 60_000;
  const maxCalls = opts.maxCalls ?? 6;
  let counters: { reqs?: ReturnType<typeof windowCounter>; toks?: ReturnType<typeof windowCounter> } | undefined;
  const fresh = (): ProviderStats => ({ requests: 0, answered: 0, repeated: 0, rateLimited: 0, tokens: 0, busyMs: 0, chains: new Map(), answeredKeys: new Set() });
  let stats = fresh();
  const addChain = (q: string, ms: number) => stats.chains.set(q, (stats.chains.get(q) ?? 0) + ms);

  const headers = (now: number): Record<string, string> => {
    const { reqs, toks } = counters!;
    return {
    ...(reqs
      ? { 'x-ratelimit-limit-requests': String(reqs.limit), 'x-ratelimit-remaining-requests': String(reqs.remaining(now)), 'x-ratelimit-reset-requests': seconds(reqs.resetMs(now)) }
      : {}),
    ...(toks ? { 'x-ratelimit-limit-tokens': String(toks.limit), 'x-ratelimit-remaining-tokens': String(toks.remaining(now)), 'x-ratelimit-reset-tokens': seconds(toks.resetMs(now)) } : {}),
    };
  };

  const teacher = (body: ChatCompletionBody): FakeReply => {
    const now = Date.now();
    counters ??= { reqs: opts.rpm ? windowCounter(opts.rpm, windowMs) : undefined, toks: opts.tpm ? windowCounter(opts.tpm, windowMs) : undefined };
    const { reqs, toks } = counters;
    stats.requests++;
    stats.firstAt ??= now;
    const messages = body.messages ?? [];
    const { content, q, turn } = teacherReply(body, maxCalls);
    const prompt = messages.map((m) => m.content ?? '').join('\n');
    const tokens = tokensOf(prompt) + tokensOf(content);
    const wait = Math.max(reqs?.waitFor(1, now) ?? 0, toks?.waitFor(tokens, now) ?? 0);
    if (wait > 0) {
      stats.rateLimited++;
      const which = (reqs?.waitFor(1, now) ?? 0) > 0 ? 'requests' : 'tokens';
      return {
        status: 429,
        headers: { ...headers(now), 'retry-after-ms': String(wait), 'retry-after': String(Math.ceil(wait / 1000)) },
        error: { message: `Rate limit reached for ${which} per min`, type: which, code: 'rate_limit_exceeded' },
      };
    }
    reqs?.take(1, now);
    toks?.take(tokens, now);
    const delayMs = lognormalMs(`${q}#${turn}`, opts.medianMs, opts.sigma);
    stats.answered++;
    stats.tokens += tokens;
    const key = `${q}#${turn}`;
    if (stats.answeredKeys.has(key)) stats.repeated++;
    else {
      stats.answeredKeys.add(key);
      // A repeat is not part of the episode's own chain.
      addChain(q, delayMs);
    }
    return { content, delayMs, headers: headers(now) };
  };

  const model = await startFakeOpenAIServer({
    behaviour: teacher,
    keepLog: false,
    onFinish: (e) => {
      if (e.requestNumber === 0) return;
      const end = e.endedAt ?? Date.now();
      stats.busyMs += end - e.receivedAt;
      stats.lastAt = Math.max(stats.lastAt ?? 0, end);
    },
  });
  const search = await startFakeSerpApi({ apiKey: SEARCH_KEY, results: {} });
  search.setDelay((params) => {
    const q = /^([0-9a-f]{10}) step/.exec(params.q ?? '')?.[1];
    const ms = lognormalMs(`search#${params.q}`, opts.searchMedianMs, opts.sigma);
    if (q) addChain(q, ms);
    return ms;
  });

  return {
    options: opts,
    model,
    search,
    get stats() {
      return stats;
    },
    reset() {
      stats = fresh();
      counters = undefined;
      model.clearLog();
      search.requests.length = 0;
    },
    criticalPathMs: () => {
      let longest = 0;
      for (const ms of stats.chains.values()) longest = Math.max(longest, ms);
      return longest;
    },
    async close() {
      await model.close();
      await search.close();
    },
  };
}
