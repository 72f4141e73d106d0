// MinHash signatures with LSH banding: finds the pairs likely to be near-duplicates without comparing
// every pair, so curating tens of thousands of records stays fast. Candidates are confirmed exactly.
import { fmix32 } from './shingles';

export const MINHASH_SIZE = 64;

// Fixed per-permutation multipliers (odd) and offsets, derived rather than random, so signatures are the
// same on every run. Shingle hashes are already well mixed, so one multiply-add per permutation suffices
// (checked against exact Jaccard in test/unit/curate.test.ts); it is four times cheaper than re-mixing.
const MULTIPLIERS = new Uint32Array(MINHASH_SIZE);
const OFFSETS = new Uint32Array(MINHASH_SIZE);
for (let k = 0; k < MINHASH_SIZE; k++) {
  MULTIPLIERS[k] = (fmix32(Math.imul(2 * k + 1, 0x9e3779b9)) | 1) >>> 0;
  OFFSETS[k] = fmix32(Math.imul(2 * k + 2, 0x9e3779b9));
}

export function minhashSignature(low: Uint32Array): Uint32Array {
  const sig = new Uint32Array(MINHASH_SIZE).fill(0xffffffff);
  for (let i = 0; i < low.length; i++) {
    const x = low[i];
    for (let k = 0; k < MINHASH_SIZE; k++) {
      const v = (Math.imul(x, MULTIPLIERS[k]) + OFFSETS[k]) >>> 0;
      if (v < sig[k]) sig[k] = v;
    }
  }
  return sig;
}

/** Probability that a pair of Jaccard similarity s shares at least one band of `rows` rows. */
export function candidateProbability(s: number, rows: number): number {
  return 1 - Math.pow(1 - Math.pow(s, rows), MINHASH_SIZE / rows);
}

/**
 * Rows per band for a threshold: the most selective banding that still makes a pair at the threshold a
 * candidate with probability ≥ 99.9% (pairs above it, more likely still). 0.9 → 16 bands of 4 rows.
 */
export function rowsPerBand(threshold: number): number {
  for (let rows = MINHASH_SIZE; rows > 1; rows /= 2) {
    if (candidateProbability(threshold, rows) >= 0.999) return rows;
  }
  return 1;
}

/** An LSH index over signatures: bucket per (band, band hash) holding item numbers in insertion order. */
export class LshIndex {
  private readonly bands: Array<Map<number, number[]>>;

  constructor(private readonly rows: number) {
    this.bands = Array.from({ length: MINHASH_SIZE / rows }, () => new Map<number, number[]>());
  }

  private bandKey(sig: Uint32Array, band: number): number {
    let h = band;
    for (let r = band * this.rows; r < (band + 1) * this.rows; r++) h = fmix32(Math.imul(h, 0x01000193) ^ sig[r]);
    return h;
  }

  /** Items sharing at least one band with the signature, ascending. */
  candidates(sig: Uint32Array): number[] {
    const found = new Set<number>();
    this.bands.forEach((buckets, band) => {
      for (const item of buckets.get(this.bandKey(sig, band)) ?? []) found.add(item);
    });
    return [...found].sort((x, y) => x - y);
  }

  add(item: number, sig: Uint32Array): void {
    this.bands.forEach((buckets, band) => {
      const key = this.bandKey(sig, band);
      const bucket = buckets.get(key);
      if (bucket) bucket.push(item);
      else buckets.set(key, [item]);
    });
  }
}
