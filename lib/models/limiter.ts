// Per-model admission control, shared by every activity of a worker:
// - a concurrency limit that adapts (AIMD): it starts at the ceiling, halves on a 429 or when replies
//   slow down far past their baseline, and grows back one slot per reply (faster until the first cut);
// - request and token pacers that stay a safety margin under the caps from config or from the
//   x-ratelimit-* headers the server sends, spreading starts evenly so no window edge overflows;
// - a pause that holds every start back (Retry-After, or remaining = 0 until the advertised reset).
// Every wait can be abandoned through an AbortSignal (activity cancellation) without using a slot.
import type { ModelConfig } from '../../core/config';

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export const systemClock: Clock = { now: () => Date.now(), sleep: abortableSleep };

export interface Semaphore {
  /** Resolves with a release function (safe to call twice). */
  acquire(signal?: AbortSignal): Promise<() => void>;
  /** Changes the limit; a raise admits waiters at once, a cut lets the excess finish. */
  setLimit(limit: number): void;
  readonly limit: number;
  readonly inUse: number;
  readonly waiting: number;
}

export function createSemaphore(max: number): Semaphore {
  const check = (n: number) => {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`concurrency must be a positive integer, got ${n}`);
  };
  check(max);
  let limit = max;
  let inUse = 0;
  const queue: Array<{ grant: () => void }> = [];

  function drain(): void {
    while (inUse < limit && queue.length > 0) {
      inUse++;
      queue.shift()!.grant();
    }
  }

  function releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      inUse--;
      // Waiters are served in order, so no newcomer can slip in ahead of them.
      drain();
    };
  }

  return {
    get limit() {
      return limit;
    },
    get inUse() {
      return inUse;
    },
    get waiting() {
      return queue.length;
    },
    setLimit(n: number) {
      check(n);
      limit = n;
      drain();
    },
    acquire(signal?: AbortSignal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (inUse < limit && queue.length === 0) {
        inUse++;
        return Promise.resolve(releaser());
      }
      return new Promise<() => void>((resolve, reject) => {
        const waiter = {
          grant: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve(releaser());
          },
        };
        const onAbort = () => {
          const i = queue.indexOf(waiter);
          if (i >= 0) queue.splice(i, 1);
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        queue.push(waiter);
      });
    },
  };
}

export interface RateGate {
  /** Waits until `cost` (default 1) may start under the rate and any pause, then takes it. */
  acquire(signal?: AbortSignal, cost?: number): Promise<void>;
  /** Holds every start back for `ms` (a server's Retry-After applies to all callers of that model). */
  pause(ms: number): void;
  /** Gives back (positive) or takes (negative) units after the fact: a token estimate corrected by the reply's usage. */
  adjust(units: number): void;
  /** A new cap per window (from a header); undefined removes the cap. */
  setLimit(limit: number | undefined): void;
  readonly limit: number | undefined;
}

/**
 * A pacer: `limit × safety` units per `windowMs`, refilled continuously. The bucket holds half the
 * margin (`limit × (1 - safety) / 2`, at least one unit; or `burstMs` worth of the rate), so starts
 * are spread evenly and a server counting in fixed, sliding or token-bucket windows never sees more
 * than `limit × (1 + safety) / 2` in any window, while a waiter woken late loses none of the rate.
 * A cost larger than the bucket goes when the bucket is full and leaves it in debt.
 */
export function createRateGate(opts: { limit?: number; windowMs?: number; safety?: number; burstMs?: number; clock?: Clock }): RateGate {
  const windowMs = opts.windowMs ?? 60_000;
  const safety = opts.safety ?? 1;
  const clock = opts.clock ?? systemClock;
  if (!(safety > 0 && safety <= 1)) throw new RangeError(`safety must be in (0, 1], got ${safety}`);
  let limit = opts.limit;
  if (limit !== undefined && !(limit >= 1)) throw new RangeError(`rate limit must be at least 1, got ${limit}`);
  const burstOf = () => {
    if (limit === undefined) return 1;
    return Math.max(1, opts.burstMs ? (limit * safety * opts.burstMs) / windowMs : (limit * (1 - safety)) / 2);
  };
  let level = burstOf();
  let refilledAt = clock.now();
  let pausedUntil = 0;

  const refill = (now: number) => {
    if (limit !== undefined) level = Math.min(burstOf(), level + ((now - refilledAt) * limit * safety) / windowMs);
    refilledAt = now;
  };

  return {
    get limit() {
      return limit;
    },
    setLimit(next) {
      if (next !== undefined && !(next >= 1)) throw new RangeError(`rate limit must be at least 1, got ${next}`);
      refill(clock.now());
      // A cap learned from a reply: the request that brought it was already sent, so no burst on top.
      if (limit === undefined) level = 0;
      limit = next;
    },
    pause(ms: number) {
      pausedUntil = Math.max(pausedUntil, clock.now() + Math.max(0, ms));
    },
    adjust(units: number) {
      refill(clock.now());
      level = Math.min(burstOf(), level + units);
    },
    async acquire(signal?: AbortSignal, cost = 1) {
      for (;;) {
        signal?.throwIfAborted();
        const now = clock.now();
        refill(now);
        let wait = 0;
        const need = Math.min(cost, burstOf());
        if (pausedUntil > now) wait = pausedUntil - now;
        else if (limit !== undefined && level < need) wait = Math.ceil(((need - level) * windowMs) / (limit * safety));
        if (wait <= 0) {
          if (limit !== undefined) level -= cost;
          return;
        }
        // Several waiters may wake together; each re-checks, and only those that fit go.
        await clock.sleep(wait, signal);
      }
    },
  };
}

/** What OpenAI-compatible servers advertise in x-ratelimit-* headers (limits per minute). */
export interface RateLimitHeaders {
  limitRequests?: number;
  remainingRequests?: number;
  resetRequestsMs?: number;
  limitTokens?: number;
  remainingTokens?: number;
  resetTokensMs?: number;
}

/** "1s", "6m0s", "20ms", "1h2m3.5s", or plain seconds ("0.5"); undefined when unreadable. */
export function parseResetDuration(text: string | undefined | null): number | undefined {
  const t = text?.trim();
  if (!t) return undefined;
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3_600_000 : m[2] === 'm' ? n * 60_000 : m[2] === 's' ? n * 1000 : n;
    consumed = re.lastIndex;
  }
  return consumed === t.length ? total : undefined;
}

type HeaderBag = Headers | Record<string, string | undefined> | undefined;

export function parseRateLimitHeaders(headers: HeaderBag): RateLimitHeaders {
  if (!headers) return {};
  const get = (name: string): string | undefined => (headers instanceof Headers ? (headers.get(name) ?? undefined) : headers[name]);
  const num = (name: string) => {
    const v = get(name)?.trim();
    return v && /^\d+(\.\d+)?$/.test(v) ? Number(v) : undefined;
  };
  const out: RateLimitHeaders = {
    limitRequests: num('x-ratelimit-limit-requests'),
    remainingRequests: num('x-ratelimit-remaining-requests'),
    resetRequestsMs: parseResetDuration(get('x-ratelimit-reset-requests')),
    limitTokens: num('x-ratelimit-limit-tokens'),
    remainingTokens: num('x-ratelimit-remaining-tokens'),
    resetTokensMs: parseResetDuration(get('x-ratelimit-reset-tokens')),
  };
  for (const k of Object.keys(out) as Array<keyof RateLimitHeaders>) if (out[k] === undefined) delete out[k];
  return out;
}

/** How a request that held a permit ended. */
export interface Outcome {
  /** 'ok' (an answer), 'rate-limited' (429), 'error' (anything else, including cancellation). */
  kind: 'ok' | 'rate-limited' | 'error';
  headers?: HeaderBag;
  /** Tokens the server counted (prompt + completion), to correct the estimate taken at the start. */
  tokens?: number;
}

export interface Permit {
  /** Returns the slot and teaches the limiter from the outcome; safe to call twice. */
  done(outcome: Outcome): void;
}

export interface LimiterStats {
  /** The adaptive concurrency limit now, and the ceiling it never passes. */
  concurrency: number;
  maxConcurrency: number;
  active: number;
  queued: number;
  /** Caps in force per minute (config and headers, the lower of the two), before the safety margin. */
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  rateLimited: number;
  decreases: number;
}

export interface Limiter {
  /** Waits for a concurrency slot, then for the request and token pacers. */
  acquire(opts?: { tokens?: number; signal?: AbortSignal }): Promise<Permit>;
  /** Runs `fn` under a permit; its outcome counts as 'ok' or 'error' (callers that see headers use acquire). */
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  pause(ms: number): void;
  readonly active: number;
  readonly queued: number;
  stats(): LimiterStats;
}

export interface LimiterOptions {
  /** Ceiling of requests in flight; the adaptive limit starts here. */
  maxConcurrency: number;
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  /** Fraction of a cap actually used (default 0.97): room for clock skew and the server's own counting. */
  safety?: number;
  /** The rate window; 60 s unless a test shrinks it. */
  windowMs?: number;
  /** Replies slower than this many times the baseline (the fastest smoothed latency seen, at least 200 ms) cut concurrency (default 4). */
  slowFactor?: number;
  clock?: Clock;
}

export function createLimiter(opts: LimiterOptions): Limiter {
  const clock = opts.clock ?? systemClock;
  const ceiling = opts.maxConcurrency;
  const safety = opts.safety ?? 0.97;
  const windowMs = opts.windowMs ?? 60_000;
  const slowFactor = opts.slowFactor ?? 4;
  // Until the first reply shows the server's x-ratelimit-* headers (or that it sends none), one request
  // at a time: a first burst at the ceiling could overrun a cap that only the headers declare.
  let probing = !(opts.requestsPerMinute && opts.tokensPerMinute);
  const sem = createSemaphore(probing ? 1 : ceiling);
  const requests = createRateGate({ limit: opts.requestsPerMinute, windowMs, safety, clock });
  const tokens = createRateGate({ limit: opts.tokensPerMinute, windowMs, safety, clock });

  // AIMD state: `window` is fractional; the semaphore gets its floor.
  let window = ceiling;
  let slowStart = true;
  /** No cut again until a request started after the last cut has answered (one cut per round trip). */
  let cutAt = -Infinity;
  let rateLimited = 0;
  let decreases = 0;
  let ewma: number | undefined;
  let baseline = Infinity;
  let samples = 0;

  const apply = () => sem.setLimit(probing ? 1 : Math.max(1, Math.min(ceiling, Math.floor(window))));
  const cut = (startedAt: number, factor: number) => {
    if (startedAt <= cutAt) return;
    cutAt = clock.now();
    slowStart = false;
    window = Math.max(1, Math.min(window, sem.inUse) * factor);
    decreases++;
    apply();
  };
  const grow = () => {
    if (window >= ceiling) return;
    window = Math.min(ceiling, window + (slowStart ? 1 : 1 / window));
    apply();
  };

  function learn(h: RateLimitHeaders): void {
    if (h.limitRequests !== undefined && h.limitRequests >= 1) {
      const cap = Math.min(opts.requestsPerMinute ?? Infinity, h.limitRequests);
      if (cap !== requests.limit) requests.setLimit(cap);
    }
    if (h.limitTokens !== undefined && h.limitTokens >= 1) {
      const cap = Math.min(opts.tokensPerMinute ?? Infinity, h.limitTokens);
      if (cap !== tokens.limit) tokens.setLimit(cap);
    }
    // Nothing left until the reset: hold everyone back until then rather than draw a 429.
    if (h.remainingRequests !== undefined && h.remainingRequests < 1 && h.resetRequestsMs) requests.pause(h.resetRequestsMs);
    if (h.remainingTokens !== undefined && h.remainingTokens < 1 && h.resetTokensMs) tokens.pause(h.resetTokensMs);
  }

  async function acquire(o: { tokens?: number; signal?: AbortSignal } = {}): Promise<Permit> {
    const release = await sem.acquire(o.signal);
    const estimate = Math.max(0, o.tokens ?? 0);
    try {
      // Slot first, then the rate starts: counting a start before the request can be sent would let
      // delayed requests bunch up inside one window.
      await requests.acquire(o.signal);
      if (estimate > 0) await tokens.acquire(o.signal, estimate);
    } catch (err) {
      release();
      throw err;
    }
    const startedAt = clock.now();
    let finished = false;
    return {
      done(outcome: Outcome) {
        if (finished) return;
        finished = true;
        const h = parseRateLimitHeaders(outcome.headers);
        learn(h);
        if (probing) {
          probing = false;
          apply();
        }
        if (outcome.tokens !== undefined && estimate > 0 && tokens.limit !== undefined) tokens.adjust(estimate - outcome.tokens);
        if (outcome.kind === 'rate-limited') {
          rateLimited++;
          cut(startedAt, 0.5);
        } else if (outcome.kind === 'ok') {
          const ms = clock.now() - startedAt;
          ewma = ewma === undefined ? ms : ewma * 0.9 + ms * 0.1;
          samples++;
          // The baseline settles after a few replies; a server that queues shows as latency far above it.
          if (samples >= 10) baseline = Math.min(baseline, ewma);
          if (samples > 20 && ewma > slowFactor * Math.max(baseline, 200)) cut(startedAt, 0.75);
          else grow();
        }
        release();
      },
    };
  }

  return {
    acquire,
    get active() {
      return sem.inUse;
    },
    get queued() {
      return sem.waiting;
    },
    pause: (ms) => {
      requests.pause(ms);
      tokens.pause(ms);
    },
    async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
      const permit = await acquire({ signal });
      try {
        const value = await fn();
        permit.done({ kind: 'ok' });
        return value;
      } catch (err) {
        permit.done({ kind: 'error' });
        throw err;
      }
    },
    stats: () => ({
      concurrency: sem.limit,
      maxConcurrency: ceiling,
      active: sem.inUse,
      queued: sem.waiting,
      ...(requests.limit !== undefined ? { requestsPerMinute: requests.limit } : {}),
      ...(tokens.limit !== undefined ? { tokensPerMinute: tokens.limit } : {}),
      rateLimited,
      decreases,
    }),
  };
}

export function limiterForModel(config: Pick<ModelConfig, 'maxConcurrency' | 'requestsPerMinute' | 'tokensPerMinute'>, clock?: Clock): Limiter {
  return createLimiter({ maxConcurrency: config.maxConcurrency, requestsPerMinute: config.requestsPerMinute, tokensPerMinute: config.tokensPerMinute, clock });
}
