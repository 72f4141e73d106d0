// Curation: keeps the trajectories worth training on and says why each other one was dropped.
// Pure and deterministic: records are taken in id order, so input order never changes the result.
import { createHash } from 'node:crypto';
import type { ExperimentConfig } from '../../core/config';
import type { TrajectoryRecord } from '../../core/trajectory';
import { renderTurns, pythonStrip } from '../datasets/formats';
import { parseCanonicalAction } from './action';
import { LshIndex, minhashSignature, rowsPerBand } from './minhash';
import { normalizeQuestion } from './normalize';
import { jaccard, shingleSet } from './shingles';

/** In the order they are checked: a record gets the first that applies. */
export const DROP_REASONS = ['unsuccessful', 'unfinished', 'malformed', 'too-long', 'eval-leak', 'exact-duplicate', 'near-duplicate'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export type CurateConfig = ExperimentConfig['curate'];

export interface CurateOptions extends CurateConfig {
  /** normalizeQuestion() of every eval-split question text. */
  evalQuestions: ReadonlySet<string>;
}

export interface DroppedRecord {
  id: string;
  reason: DropReason;
  detail?: string;
}

export interface CurateResult {
  /** In id order. */
  kept: TrajectoryRecord[];
  /** In id order. */
  dropped: DroppedRecord[];
  /** Every reason, zero included. */
  counts: Record<DropReason, number>;
}

/** Code-unit order, the same in every locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The text a model is trained on for this record: the question, then the turns as rendered in the datasets. */
function renderTrajectory(record: TrajectoryRecord): string {
  return pythonStrip(record.question.text) + '\n' + renderTurns(record.turns);
}

/** What the teacher wrote: the assistant turns only (observations and question are shared by near-copies anyway). */
function renderAssistantText(record: TrajectoryRecord): string {
  return record.turns
    .filter((t) => t.role === 'assistant')
    .map((t) => t.content)
    .join('\n');
}

/** The first structural problem of a trajectory, or null when it is well formed. */
function malformedProblem(record: TrajectoryRecord): string | null {
  if (record.forcedFinish) return 'forced finish';
  if (record.turns.length === 0) return 'no turns';
  for (let i = 0; i < record.turns.length; i++) {
    const turn = record.turns[i];
    const expected = i % 2 === 0 ? 'assistant' : 'observation';
    if (turn.role !== expected) return `turn ${i}: ${turn.role} where ${expected} was expected`;
    if (turn.content.trim() === '') return `turn ${i}: empty ${turn.role} content`;
    if (turn.role === 'assistant' && !parseCanonicalAction(turn.content)) return `turn ${i}: no parsable Action: search[...] or finish[...]`;
  }
  return null;
}

function checkRecord(record: TrajectoryRecord, options: CurateOptions): Omit<DroppedRecord, 'id'> | null {
  if (options.requireSuccess && record.reward !== 1) {
    return { reason: 'unsuccessful', detail: record.reward === null ? 'no gold answer' : `reward ${record.reward}` };
  }
  if (!record.finished) return { reason: 'unfinished' };
  const problem = malformedProblem(record);
  if (problem) return { reason: 'malformed', detail: problem };
  if (record.turns.length > options.maxTurns) {
    return { reason: 'too-long', detail: `${record.turns.length} turns > ${options.maxTurns}` };
  }
  const chars = renderTrajectory(record).length;
  if (chars > options.maxChars) return { reason: 'too-long', detail: `${chars} characters > ${options.maxChars}` };
  if (options.excludeEvalQuestions && options.evalQuestions.has(normalizeQuestion(record.question.text))) {
    return { reason: 'eval-leak' };
  }
  return null;
}

interface NearDupGroup {
  index: LshIndex;
  /** Shingle hashes and ids of the group's kept records, by item number. */
  shingles: Float64Array[];
  ids: string[];
}

/**
 * Curation one record at a time, in id order (the caller's to keep): holds only what deduplication
 * needs (a hash per kept text, shingle hashes and MinHash bands of kept records), never the records,
 * so tens of thousands of trajectories curate in bounded memory.
 */
export class Curator {
  readonly counts = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  private readonly rows: number;
  private readonly exact = new Map<string, string>(); // sha256(method + text) -> id kept
  private readonly groups = new Map<string, NearDupGroup>(); // task + method

  constructor(private readonly options: CurateOptions) {
    this.rows = rowsPerBand(options.nearDuplicateThreshold);
  }

  /** null: keep the record; else why it is dropped. */
  add(record: TrajectoryRecord): DroppedRecord | null {
    const failed = checkRecord(record, this.options);
    if (failed) return this.drop(record.id, failed.reason, failed.detail);

    const exactKey = createHash('sha256').update(`${record.method}\u0000${renderTrajectory(record)}`, 'utf8').digest('hex');
    const twin = this.exact.get(exactKey);
    if (twin !== undefined) return this.drop(record.id, 'exact-duplicate', `same as ${twin}`);

    const groupKey = `${record.question.task}\u0000${record.method}`;
    let group = this.groups.get(groupKey);
    if (!group) {
      group = { index: new LshIndex(this.rows), shingles: [], ids: [] };
      this.groups.set(groupKey, group);
    }
    const shingles = shingleSet(renderAssistantText(record));
    const signature = minhashSignature(shingles.low);
    if (shingles.hashes.length > 0) {
      let best = -1;
      let bestSimilarity = 0;
      for (const candidate of group.index.candidates(signature)) {
        const s = jaccard(shingles.hashes, group.shingles[candidate]);
        if (s >= this.options.nearDuplicateThreshold && s > bestSimilarity) {
          best = candidate;
          bestSimilarity = s;
        }
      }
      if (best >= 0) return this.drop(record.id, 'near-duplicate', `jaccard ${bestSimilarity.toFixed(3)} with ${group.ids[best]}`);
    }

    this.exact.set(exactKey, record.id);
    const item = group.shingles.length;
    group.shingles.push(shingles.hashes);
    group.ids.push(record.id);
    if (shingles.hashes.length > 0) group.index.add(item, signature);
    return null;
  }

  private drop(id: string, reason: DropReason, detail?: string): DroppedRecord {
    this.counts[reason]++;
    return detail === undefined ? { id, reason } : { id, reason, detail };
  }
}

export function curateTrajectories(records: readonly TrajectoryRecord[], options: CurateOptions): CurateResult {
  // Id order first; full-record JSON breaks ties so even duplicate ids cannot make the result order-dependent.
  const ordered = [...records].sort((a, b) => compareStrings(a.id, b.id) || compareStrings(JSON.stringify(a), JSON.stringify(b)));
  const curator = new Curator(options);
  const kept: TrajectoryRecord[] = [];
  const dropped: DroppedRecord[] = [];
  for (const record of ordered) {
    const d = curator.add(record);
    if (d) dropped.push(d);
    else kept.push(record);
  }
  return { kept, dropped, counts: curator.counts };
}
