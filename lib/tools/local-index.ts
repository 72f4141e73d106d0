// An in-memory BM25 full-text index over a corpus on disk: the offline search engine.
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { ErrorType, typedFailure, isTypedFailure, type TypedFailure } from '../../core/errors';

export interface CorpusDoc {
  id: string;
  title?: string;
  text: string;
}

export interface SearchHit {
  id: string;
  title?: string;
  text: string;
  score: number;
}

export interface LocalIndex {
  /** Number of documents. */
  readonly size: number;
  /** Best `k` documents, by score then corpus order; documents sharing no term with the query are never hits. */
  search(query: string, k: number): SearchHit[];
}

export interface Bm25Params {
  k1?: number;
  b?: number;
}

// Kept small on purpose: names and titles ("The Who", "It") are what agents search for.
const STOP_WORDS = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'but', 'by', 'for', 'from', 'if', 'in', 'into', 'is', 'of', 'on',
  'or', 's', 't', 'than', 'that', 'the', 'then', 'there', 'these', 'this', 'those', 'to', 'was', 'were', 'with',
]);
const WORD = /[\p{L}\p{N}]+/gu;
const COMBINING_MARKS = /\p{M}+/gu;

/** Lower-cased, accent-folded runs of letters and digits, without stop words. */
export function tokenize(text: string): string[] {
  const folded = text.normalize('NFKD').replace(COMBINING_MARKS, '').toLowerCase();
  const tokens: string[] = [];
  for (const match of folded.matchAll(WORD)) {
    if (!STOP_WORDS.has(match[0])) tokens.push(match[0]);
  }
  return tokens;
}

/** Builds the index; the title, when present, is searched together with the text. */
export function buildLocalIndex(docs: readonly CorpusDoc[], params: Bm25Params = {}): LocalIndex {
  const k1 = params.k1 ?? 1.2;
  const b = params.b ?? 0.75;
  const n = docs.length;

  // First pass: term ids and per-term posting lists in growable arrays.
  const termIds = new Map<string, number>();
  const postingDocs: number[][] = [];
  const postingTfs: number[][] = [];
  const docLengths = new Uint32Array(n);
  const counts = new Map<number, number>();
  let totalLength = 0;
  for (let d = 0; d < n; d++) {
    const doc = docs[d];
    const tokens = tokenize(doc.title ? `${doc.title} ${doc.text}` : doc.text);
    docLengths[d] = tokens.length;
    totalLength += tokens.length;
    counts.clear();
    for (const token of tokens) {
      let id = termIds.get(token);
      if (id === undefined) {
        id = postingDocs.length;
        termIds.set(token, id);
        postingDocs.push([]);
        postingTfs.push([]);
      }
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const [id, tf] of counts) {
      postingDocs[id].push(d);
      postingTfs[id].push(tf);
    }
  }

  // Second pass: flatten postings into typed arrays (compact, and fast to scan).
  const termCount = postingDocs.length;
  const offsets = new Uint32Array(termCount + 1);
  for (let t = 0; t < termCount; t++) offsets[t + 1] = offsets[t] + postingDocs[t].length;
  const flatDocs = new Uint32Array(offsets[termCount]);
  const flatTfs = new Uint32Array(offsets[termCount]);
  for (let t = 0; t < termCount; t++) {
    flatDocs.set(postingDocs[t], offsets[t]);
    flatTfs.set(postingTfs[t], offsets[t]);
  }

  // The length-normalised part of BM25's denominator depends only on the document: compute it once.
  const avgLength = n > 0 && totalLength > 0 ? totalLength / n : 1;
  const lengthNorm = new Float64Array(n);
  for (let d = 0; d < n; d++) lengthNorm[d] = k1 * (1 - b + (b * docLengths[d]) / avgLength);

  // Scratch reused across queries (searches are synchronous, so never shared by two at once).
  const scores = new Float64Array(n);
  const touched: number[] = [];

  const search = (query: string, k: number): SearchHit[] => {
    if (k <= 0 || n === 0) return [];
    const queryTerms = new Set<number>();
    for (const token of tokenize(query)) {
      const id = termIds.get(token);
      if (id !== undefined) queryTerms.add(id);
    }
    // Ascending term id: a fixed summation order, so equal documents get bit-identical scores.
    for (const t of [...queryTerms].sort((x, y) => x - y)) {
      const start = offsets[t];
      const end = offsets[t + 1];
      const df = end - start;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      for (let p = start; p < end; p++) {
        const d = flatDocs[p];
        const tf = flatTfs[p];
        if (scores[d] === 0) touched.push(d);
        scores[d] += (idf * tf * (k1 + 1)) / (tf + lengthNorm[d]);
      }
    }

    // Keep the best k in a small sorted array: score descending, then corpus order.
    const best: number[] = [];
    const before = (x: number, y: number): boolean => scores[x] > scores[y] || (scores[x] === scores[y] && x < y);
    for (const d of touched) {
      if (best.length === k && !before(d, best[k - 1])) continue;
      let i = best.length === k ? k - 1 : best.length;
      while (i > 0 && before(d, best[i - 1])) {
        best[i] = best[i - 1];
        i--;
      }
      best[i] = d;
    }
    const hits = best.map((d) => ({ id: docs[d].id, title: docs[d].title, text: docs[d].text, score: scores[d] }));
    for (const d of touched) scores[d] = 0;
    touched.length = 0;
    return hits;
  };

  return { size: n, search };
}

/**
 * Reads a JSONL corpus: one `{"title"?: string, "text": string}` per line, blank lines skipped.
 * Document ids are "<line number>". A malformed line fails naming the file and line.
 */
export async function loadCorpusJsonl(path: string): Promise<CorpusDoc[]> {
  try {
    await access(path);
  } catch {
    throw typedFailure({ type: ErrorType.MissingData, message: `search corpus not found: ${path}`, nonRetryable: true });
  }
  const docs: CorpusDoc[] = [];
  const input = createReadStream(path, { encoding: 'utf8' });
  // Leaving the loop (a bad line) closes the reader; destroying the stream releases the file at once.
  try {
    let lineNo = 0;
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      lineNo++;
      if (line.trim()) docs.push(parseCorpusLine(path, lineNo, line));
    }
  } catch (err) {
    if (isTypedFailure(err)) throw err;
    const why = err instanceof Error ? err.message : String(err);
    throw typedFailure({ type: ErrorType.MissingData, message: `cannot read search corpus ${path}: ${why}`, nonRetryable: true });
  } finally {
    input.destroy();
  }
  return docs;
}

function parseCorpusLine(path: string, lineNo: number, line: string): CorpusDoc {
  const bad = (why: string): TypedFailure =>
    typedFailure({ type: ErrorType.BadDatasetRecord, message: `${path}:${lineNo}: ${why}`, nonRetryable: true });
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch (err) {
    throw bad(`not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw bad('expected a JSON object {"title"?: string, "text": string}');
  }
  const { title, text } = record as { title?: unknown; text?: unknown };
  if (typeof text !== 'string' || !text.trim()) throw bad('"text" must be a non-empty string');
  if (title !== undefined && title !== null && typeof title !== 'string') throw bad('"title" must be a string when present');
  const id = String(lineNo);
  return typeof title === 'string' && title ? { id, title, text } : { id, text };
}
