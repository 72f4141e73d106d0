// Batch input files: one line per request, cut within the provider's per-file limits, named by a
// key the provider keeps in the batch's metadata; and reading output and error files back.
import { ErrorType, typedFailure } from '../../core/errors';
import { sha256 as sha256Hex } from '../artifacts/store';
import type { BatchOutputLine } from './batch-client';

export { batchLine } from './batch-client';

/** A request of this round: its line id, cache key and the episode it came from. */
export type ManifestEntry = [customId: string, key: string, episodeId: string];

/**
 * A batch's idempotency key: where it sits in the run, and a hash of its input file. A retry after a
 * crash builds the same file and finds the batch; a resumed run whose episodes stand elsewhere builds
 * another file and makes its own batch, never reading answers that belong to other requests.
 */
export function batchKey(experiment: string, shard: string, round: number, part: number, jsonl: string): string {
  return `${experiment}/${shard}/round-${round}/part-${part}/${sha256Hex(jsonl).slice(0, 16)}`;
}

/** Splits lines into parts within the provider's per-file limits (requests and bytes). */
export function splitParts<T extends { line: string }>(items: readonly T[], limits: { maxRequests: number; maxBytes: number }): T[][] {
  const parts: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const it of items) {
    const size = Buffer.byteLength(it.line, 'utf8') + 1;
    if (size > limits.maxBytes) {
      throw typedFailure({
        type: ErrorType.InvalidConfig,
        nonRetryable: true,
        message: `generate.batch.maxBytes: one request is ${size} bytes, more than the limit of ${limits.maxBytes} per batch file`,
      });
    }
    if (cur.length && (cur.length >= limits.maxRequests || bytes + size > limits.maxBytes)) {
      parts.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(it);
    bytes += size;
  }
  if (cur.length) parts.push(cur);
  return parts;
}

/** Lines of a JSONL file; an unreadable line is kept as null so it is counted, not lost. */
export function parseLines(text: string): Array<BatchOutputLine | null> {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      try {
        const v = JSON.parse(l) as unknown;
        return v && typeof v === 'object' ? (v as BatchOutputLine) : null;
      } catch {
        return null;
      }
    });
}

