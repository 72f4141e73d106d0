// Builds one training mix (FireAct's tasks × methods union) from curated trajectory records: the file
// texts, their counts and content hashes. Pure: the caller writes the texts to the artifact store.
import type { DatasetMix } from '../../core/config';
import { ErrorType, typedFailure, type TypedFailure } from '../../core/errors';
import type { TrajectoryRecord } from '../../core/trajectory';
import { sha256 as sha256Hex } from '../artifacts/store';
import { toAlpacaRecord, toChatLine, validateAlpacaRecord, validateChatLine } from './formats';
import { pythonJsonDumps } from './python-json';

export interface DatasetCounts {
  total: number;
  byTask: Record<string, number>;
  byMethod: Record<string, number>;
}

export interface BuiltDataset {
  /** OpenAI chat JSONL (one line per record, each ending in "\n"); only when the mix asks for "openai". */
  chatJsonl?: string;
  /** Alpaca JSON array text; only when the mix asks for "alpaca". */
  alpacaJson?: string;
  counts: DatasetCounts;
  /** sha256 hex of the exact file texts above. */
  sha256: { openai?: string; alpaca?: string };
  /** Record ids in file order. */
  ids: string[];
}

/** Code-unit order, so the result never depends on the process locale. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Seeded choice of `k` records: rank each by a hash of (seed, id). A record's rank depends only on its
 * own id, so adding records to the pool never reshuffles which of the old ones are chosen.
 */
function seededChoice<T extends MixCandidate>(records: readonly T[], k: number, seed: number): T[] {
  const ranked = records.map((r) => ({ r, rank: sha256Hex(`${seed}\u0000${r.id}`) }));
  ranked.sort((x, y) => compareIds(x.rank, y.rank) || compareIds(x.r.id, y.r.id));
  return ranked.slice(0, k).map((x) => x.r);
}

function countBy(records: readonly MixCandidate[], key: (r: MixCandidate) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const k of records.map(key).sort(compareIds)) counts[k] = (counts[k] ?? 0) + 1;
  return counts;
}

function badRecords(problems: MixProblem[]): TypedFailure {
  const shown = problems
    .slice(0, 5)
    .map((p) => `${p.id} (${p.format}): ${p.problems.join('; ')}`)
    .join('\n  ');
  const more = problems.length > 5 ? `\n  ... and ${problems.length - 5} more` : '';
  return typedFailure({
    type: ErrorType.BadDatasetRecord,
    message: `${problems.length} record(s) do not make valid fine-tuning examples:\n  ${shown}${more}`,
    nonRetryable: true,
  });
}

/** What choosing a mix needs of a record (curation's output can be streamed past once to collect these). */
export interface MixCandidate {
  id: string;
  task: string;
  method: string;
}

export function mixCandidate(r: TrajectoryRecord): MixCandidate {
  return { id: r.id, task: r.question.task, method: r.method };
}

/** The records of a mix, in id order: its tasks × methods, at most maxRecords by a seeded choice. */
export function chooseMix<T extends MixCandidate>(candidates: readonly T[], mix: DatasetMix, seed: number): T[] {
  const tasks = new Set<string>(mix.tasks);
  const methods = new Set<string>(mix.methods);
  let selected = candidates.filter((c) => tasks.has(c.task) && methods.has(c.method));
  selected.sort((a, b) => compareIds(a.id, b.id));
  if (mix.maxRecords !== undefined && selected.length > mix.maxRecords) {
    selected = seededChoice(selected, mix.maxRecords, seed).sort((a, b) => compareIds(a.id, b.id));
  }
  return selected;
}

export function mixCounts(selected: readonly MixCandidate[]): DatasetCounts {
  return { total: selected.length, byTask: countBy(selected, (r) => r.task), byMethod: countBy(selected, (r) => r.method) };
}

export type MixProblem = { id: string; format: string; problems: string[] };

/**
 * One record's pieces of a mix's files, the record being the `position`-th of the mix: its OpenAI chat
 * line, and its element of the Alpaca array with what comes before it. Appending every record's
 * pieces in order, then alpacaClose(n), gives the files' texts, so a mix can be written as a stream.
 */
export function renderMixRecord(record: TrajectoryRecord, mix: DatasetMix, position: number): { openai?: string; alpaca?: string; problems: MixProblem[] } {
  const problems: MixProblem[] = [];
  const out: { openai?: string; alpaca?: string; problems: MixProblem[] } = { problems };
  if (mix.formats.includes('openai')) {
    const line = toChatLine(record);
    const p = validateChatLine(line);
    if (p.length) problems.push({ id: record.id, format: 'openai', problems: p });
    out.openai = pythonJsonDumps(line) + '\n';
  }
  if (mix.formats.includes('alpaca')) {
    const a = toAlpacaRecord(record);
    const p = validateAlpacaRecord(a);
    if (p.length) problems.push({ id: record.id, format: 'alpaca', problems: p });
    // json.dump(indent=4) of the array: each element one level in.
    const element = pythonJsonDumps({ instruction: a.instruction, input: a.input, output: a.output }, { indent: 4 }).replace(/\n/g, '\n    ');
    out.alpaca = `${position === 0 ? '[\n' : ',\n'}    ${element}`;
  }
  return out;
}

/** The end of a mix's Alpaca array of n records. */
export function alpacaClose(n: number): string {
  return n === 0 ? '[]' : '\n]';
}

/** Fails the build with the first few problems and their count. */
export function throwIfProblems(problems: readonly MixProblem[]): void {
  if (problems.length) throw badRecords([...problems]);
}

export function buildDatasetMix(records: readonly TrajectoryRecord[], mix: DatasetMix, seed: number): BuiltDataset {
  const byId = new Map(records.map((r) => [r.id, r]));
  const chosen = chooseMix(records.map(mixCandidate), mix, seed);
  const problems: MixProblem[] = [];
  const openai: string[] = [];
  const alpaca: string[] = [];
  chosen.forEach((c, i) => {
    const r = renderMixRecord(byId.get(c.id)!, mix, i);
    problems.push(...r.problems);
    if (r.openai !== undefined) openai.push(r.openai);
    if (r.alpaca !== undefined) alpaca.push(r.alpaca);
  });
  throwIfProblems(problems);
  const built: BuiltDataset = { counts: mixCounts(chosen), sha256: {}, ids: chosen.map((c) => c.id) };
  if (mix.formats.includes('openai')) {
    built.chatJsonl = openai.join('');
    built.sha256.openai = sha256Hex(built.chatJsonl);
  }
  if (mix.formats.includes('alpaca')) {
    built.alpacaJson = alpaca.join('') + alpacaClose(chosen.length);
    built.sha256.alpaca = sha256Hex(built.alpacaJson);
  }
  return built;
}
