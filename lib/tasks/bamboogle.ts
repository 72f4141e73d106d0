// Bamboogle: 125 two-hop questions Google answers badly, scored like HotpotQA.
import * as path from 'path';
import type { Question } from '../../core/trajectory';
import type { TaskDefinition } from './types';
import { badData, readCsv, unknownSplit } from './files';
import { hotpotqa } from './hotpotqa';
import { scoreQa } from './scoring';

const SPLITS = ['test'] as const;

async function load(dataDir: string, split: string): Promise<Question[]> {
  if (!(SPLITS as readonly string[]).includes(split)) throw unknownSplit('bamboogle', split, SPLITS);
  const rel = `bamboogle/${split}.csv`;
  const file = path.resolve(dataDir, rel);
  const [header, ...rows] = await readCsv(dataDir, rel);
  if (!header || header.length !== 2 || header[0] !== 'Question' || header[1] !== 'Answer') {
    throw badData(file, `expected the header "Question,Answer", found ${JSON.stringify(header ?? [])}`);
  }
  return rows.map((row, i): Question => {
    if (row.length !== 2) throw badData(file, `row ${i}: expected 2 fields, found ${row.length}`);
    return { task: 'bamboogle', split, id: String(i), text: row[0], answers: [row[1]] };
  });
}

export const bamboogle: TaskDefinition = {
  name: 'bamboogle',
  splits: SPLITS,
  evalSplits: ['test'],
  usesSearch: true,
  // No Bamboogle trajectories are recorded (it is an evaluation set run with HotpotQA's prompts): plan uses HotpotQA's means.
  recorded: hotpotqa.recorded,
  load,
  score: scoreQa,
};
