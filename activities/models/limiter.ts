// Per-model admission control: at most N requests in flight and at most R started per window.
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
  readonly inUse: number;
  readonly waiting: number;
}

export function createSemaphore(max: number): Semaphore {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`concurrency must be a positive integer, got ${max}`);
  let inUse = 0;
  const queue: Array<{ grant: () => void }> = [];

  function releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = queue.shift();
      // The slot passes straight to the next waiter, so no newcomer can slip in between.
      if (next) next.grant();
      else inUse--;
    };
  }

  return {
    get inUse() {
      return inUse;
    },
    get waiting() {
      return queue.length;
    },
    acquire(signal?: AbortSignal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (inUse < max) {
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
  /** Waits until a start is allowed by the window and any pause, then counts it. */
  acquire(signal?: AbortSignal): Promise<void>;
  /** Holds every start back for `ms` (a server's Retry-After applies to all callers of that model). */
  pause(ms: number): void;
}

/** Sliding window: at most `limit` starts in any `windowMs`; no limit gives only the pause behaviour. */
export function createRateGate(opts: { limit?: number; windowMs?: number; clock?: Clock }): RateGate {
  const limit = opts.limit ?? Infinity;
  const windowMs = opts.windowMs ?? 60_000;
  const clock = opts.clock ?? systemClock;
  if (!(limit >= 1)) throw new RangeError(`rate limit must be at least 1, got ${limit}`);
  const starts: number[] = [];
  let pausedUntil = 0;

  return {
    pause(ms: number) {
      pausedUntil = Math.max(pausedUntil, clock.now() + Math.max(0, ms));
    },
    async acquire(signal?: AbortSignal) {
      for (;;) {
        signal?.throwIfAborted();
        const now = clock.now();
        while (starts.length > 0 && starts[0] <= now - windowMs) starts.shift();
        let wait = 0;
        if (pausedUntil > now) wait = pausedUntil - now;
        else if (starts.length >= limit) wait = starts[0] + windowMs - now;
        if (wait <= 0) {
          starts.push(now);
          return;
        }
        // Several waiters may wake together; each re-checks, and only those that fit go.
        await clock.sleep(wait, signal);
      }
    },
  };
}

export interface Limiter {
  /** Runs `fn` once a concurrency slot and a rate start are both granted; the slot is held until `fn` settles. */
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  pause(ms: number): void;
  readonly active: number;
  readonly queued: number;
}

export interface LimiterOptions {
  maxConcurrency: number;
  requestsPerMinute?: number;
  /** The rate window; 60 s unless a test shrinks it. */
  windowMs?: number;
  clock?: Clock;
}

export function createLimiter(opts: LimiterOptions): Limiter {
  const sem = createSemaphore(opts.maxConcurrency);
  const gate = createRateGate({ limit: opts.requestsPerMinute, windowMs: opts.windowMs, clock: opts.clock });
  return {
    get active() {
      return sem.inUse;
    },
    get queued() {
      return sem.waiting;
    },
    pause: (ms) => gate.pause(ms),
    async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
      // Slot first, then the rate start: counting a start before the request can be sent would let
      // delayed requests bunch up inside one window.
      const release = await sem.acquire(signal);
      try {
        await gate.acquire(signal);
        return await fn();
      } finally {
        release();
      }
    },
  };
}

export function limiterForModel(config: Pick<ModelConfig, 'maxConcurrency' | 'requestsPerMinute'>, clock?: Clock): Limiter {
  return createLimiter({ maxConcurrency: config.maxConcurrency, requestsPerMinute: config.requestsPerMinute, clock });
}
