// Builds one training mix (FireAct's tasks × methods union) from curated trajectory records: the file
// texts, their counts and content hashes. Pure: the caller writes the texts to the artifact store.
import type { DatasetMix } from '../../core/config';
import { ErrorType, typedFailure, type TypedFailure } from '../../core/errors';
import type { TrajectoryRecord } from '../../core/trajectory';
import { sha256 as sha256Hex } from '../artifacts/store';
import { toAlpacaJson, toAlpacaRecord, toChatLine, validateAlpacaRecord, validateChatLine, type AlpacaRecord } from './formats';
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
function seededChoice(records: readonly TrajectoryRecord[], k: number, seed: number): TrajectoryRecord[] {
  const ranked = records.map((r) => ({ r, rank: sha256Hex(`${seed}\u0000${r.id}`) }));
  ranked.sort((x, y) => compareIds(x.rank, y.rank) || compareIds(x.r.id, y.r.id));
  return ranked.slice(0, k).map((x) => x.r);
}

function countBy(records: readonly TrajectoryRecord[], key: (r: TrajectoryRecord) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const k of records.map(key).sort(compareIds)) counts[k] = (counts[k] ?? 0) + 1;
  return counts;
}

function badRecords(problems: Array<{ id: string; format: string; problems: string[] }>): TypedFailure {
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

export function buildDatasetMix(records: readonly TrajectoryRecord[], mix: DatasetMix, seed: number): BuiltDataset {
  const tasks = new Set<string>(mix.tasks);
  const methods = new Set<string>(mix.methods);
  let selected = records.filter((r) => tasks.has(r.question.task) && methods.has(r.method));
  selected.sort((a, b) => compareIds(a.id, b.id));
  if (mix.maxRecords !== undefined && selected.length > mix.maxRecords) {
    selected = seededChoice(selected, mix.maxRecords, seed).sort((a, b) => compareIds(a.id, b.id));
  }

  const formats = new Set(mix.formats);
  const problems: Array<{ id: string; format: string; problems: string[] }> = [];
  const lines: string[] = [];
  const alpaca: AlpacaRecord[] = [];
  for (const record of selected) {
    if (formats.has('openai')) {
      const line = toChatLine(record);
      const p = validateChatLine(line);
      if (p.length) problems.push({ id: record.id, format: 'openai', problems: p });
      lines.push(pythonJsonDumps(line) + '\n');
    }
    if (formats.has('alpaca')) {
      const a = toAlpacaRecord(record);
      const p = validateAlpacaRecord(a);
      if (p.length) problems.push({ id: record.id, format: 'alpaca', problems: p });
      alpaca.push(a);
    }
  }
  if (problems.length) throw badRecords(problems);

  const built: BuiltDataset = {
    counts: {
      total: selected.length,
      byTask: countBy(selected, (r) => r.question.task),
      byMethod: countBy(selected, (r) => r.method),
    },
    sha256: {},
    ids: selected.map((r) => r.id),
  };
  if (formats.has('openai')) {
    built.chatJsonl = lines.join('');
    built.sha256.openai = sha256Hex(built.chatJsonl);
  }
  if (formats.has('alpaca')) {
    built.alpacaJson = toAlpacaJson(alpaca);
    built.sha256.alpaca = sha256Hex(built.alpacaJson);
  }
  return built;
}
