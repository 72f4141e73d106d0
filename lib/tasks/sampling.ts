// Choosing which questions of a split an experiment runs. Pure and deterministic (no I/O, no
// Math.random), so the frozen sample can be recomputed anywhere, workflows included.
import type { SAMPLE_ORDERS } from '../../core/config';
import { ErrorType, typedFailure, type TypedFailure } from '../../core/errors';
import { PythonRandom } from './python-random';

export type SampleOrder = (typeof SAMPLE_ORDERS)[number];

export interface SampleOptions {
  /** How many questions; omitted = the whole split (in the chosen order). */
  n?: number;
  /**
   * file: file order. seeded: a shuffle by this project's own seeded generator. fireact: the order
   * Python's `random.Random(seed).shuffle(list(range(len(questions))))` gives, as FireAct used.
   */
  order: SampleOrder;
  seed: number;
}

function invalidConfig(message: string): TypedFailure {
  return typedFailure({ type: ErrorType.InvalidConfig, message, nonRetryable: true });
}

/** The first `n` questions of the split in the chosen order. InvalidConfig if `n` exceeds the split. */
export function sampleQuestions<T>(questions: readonly T[], options: SampleOptions): T[] {
  const { n, order, seed } = options;
  if (n !== undefined && (!Number.isSafeInteger(n) || n < 1)) {
    throw invalidConfig(`sample n must be a positive integer, got ${n}`);
  }
  if (n !== undefined && n > questions.length) {
    throw invalidConfig(`sample n = ${n} is larger than the split, which has ${questions.length} questions`);
  }
  if (order !== 'file' && !Number.isSafeInteger(seed)) {
    throw invalidConfig(`sample seed must be an integer, got ${seed}`);
  }
  const take = n ?? questions.length;
  switch (order) {
    case 'file':
      return questions.slice(0, take);
    case 'fireact':
      return pick(questions, fireactOrder(questions.length, seed), take);
    case 'seeded':
      return pick(questions, seededOrder(questions.length, seed), take);
    default:
      throw invalidConfig(`unknown sample order "${String(order)}"; use seeded, fireact or file`);
  }
}

function pick<T>(questions: readonly T[], order: readonly number[], take: number): T[] {
  return order.slice(0, take).map((i) => questions[i]);
}

/** Python's `idx = list(range(size)); random.Random(seed).shuffle(idx)`. */
export function fireactOrder(size: number, seed: number): number[] {
  const idx = Array.from({ length: size }, (_, i) => i);
  new PythonRandom(seed).shuffle(idx);
  return idx;
}

/** A Fisher-Yates shuffle of 0..size-1 driven by SeededRandom. */
export function seededOrder(size: number, seed: number): number[] {
  const idx = Array.from({ length: size }, (_, i) => i);
  const rng = new SeededRandom(seed);
  for (let i = size - 1; i > 0; i -= 1) {
    const j = rng.below(i + 1);
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  return idx;
}

/**
 * sfc32 (Chris Doty-Humphrey's small fast counting generator), seeded from both 32-bit halves of
 * the seed through splitmix32. Only 32-bit integer operations, so every Node version and platform
 * gives the same stream.
 */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    const low = seed >>> 0; // two's complement low word, also for negative seeds
    const high = Math.floor(seed / 2 ** 32) >>> 0;
    let s = (low ^ Math.imul(high, 0x85ebca6b)) >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = 1;
    for (let i = 0; i < 12; i += 1) this.nextUint32();
  }

  nextUint32(): number {
    let t = (this.a + this.b) >>> 0;
    this.a = (this.b ^ (this.b >>> 9)) >>> 0;
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.d = (this.d + 1) >>> 0;
    t = (t + this.d) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, bound) for 1 <= bound <= 2**32, without modulo bias (rejects the uneven tail). */
  below(bound: number): number {
    const limit = 2 ** 32 - (2 ** 32 % bound);
    let r = this.nextUint32();
    while (r >= limit) r = this.nextUint32();
    return r % bound;
  }
}
