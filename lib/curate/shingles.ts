// Word 5-gram shingles as hashed sets, and exact Jaccard similarity between them.

const SHINGLE_WORDS = 5;

/** A text's shingles: 53-bit hashes (sorted, unique) for exact Jaccard, and their low 32 bits for MinHash. */
export interface ShingleSet {
  hashes: Float64Array;
  low: Uint32Array;
}

/** murmur3's 32-bit finaliser: a cheap, well-mixed bijection on 32-bit integers. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Shingles of consecutive words; a text shorter than one shingle is a single shingle of all its words. */
export function shingleSet(text: string): ShingleSet {
  const ws = words(text);
  if (ws.length === 0) return { hashes: new Float64Array(0), low: new Uint32Array(0) };
  // Two independent 32-bit hashes per word (64 bits in all, so shingle collisions are negligible).
  const wa = new Uint32Array(ws.length);
  const wb = new Uint32Array(ws.length);
  for (let w = 0; w < ws.length; w++) {
    const word = ws[w];
    let a = 0x811c9dc5;
    let b = 0x01000193 ^ word.length;
    for (let i = 0; i < word.length; i++) {
      const c = word.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
    }
    wa[w] = fmix32(a);
    wb[w] = fmix32(b ^ 0x9e3779b9);
  }
  const n = Math.max(1, ws.length - SHINGLE_WORDS + 1);
  const width = Math.min(SHINGLE_WORDS, ws.length);
  const all = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let hi = 0x27d4eb2f;
    let lo = 0x165667b1;
    for (let j = i; j < i + width; j++) {
      hi = Math.imul(hi ^ wa[j], 0x01000193);
      lo = Math.imul(lo ^ wb[j], 0x5bd1e995);
    }
    // 21 high bits from one lane, 32 from the other: an exactly representable 53-bit integer.
    all[i] = (fmix32(hi) >>> 11) * 0x100000000 + fmix32(lo);
  }
  all.sort();
  let u = 0;
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[u - 1]) all[u++] = all[i];
  const hashes = all.slice(0, u);
  const low = new Uint32Array(u);
  for (let i = 0; i < u; i++) low[i] = hashes[i] % 0x100000000;
  return { hashes, low };
}

/** |A ∩ B| / |A ∪ B| over sorted unique hashes; 0 when both are empty. */
export function jaccard(a: Float64Array, b: Float64Array): number {
  if (a.length === 0 && b.length === 0) return 0;
  let i = 0;
  let j = 0;
  let common = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      common++;
      i++;
      j++;
    } else if (a[i] < b[j]) i++;
    else j++;
  }
  return common / (a.length + b.length - common);
}
