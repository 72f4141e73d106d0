// HotpotQA (distractor dev set as released with FireAct): multi-hop questions answered with search.
import * as path from 'path';
import type { Question } from '../../core/trajectory';
import type { TaskDefinition } from './types';
import { readJsonArray, stringField, unknownSplit } from './files';
import { qaScores } from './scoring';

const SPLITS = ['dev', 'test'] as const;

async function load(dataDir: string, split: string): Promise<Question[]> {
  if (!(SPLITS as readonly string[]).includes(split)) throw unknownSplit('hotpotqa', split, SPLITS);
  const rel = `hotpotqa/${split}.json`;
  const file = path.resolve(dataDir, rel);
  const rows = await readJsonArray(dataDir, rel);
  return rows.map((row, i): Question => {
    const text = stringField(row, 'question', file, i);
    if (split === 'test') return { task: 'hotpotqa', split, id: String(i), text, answers: [] };
    return {
      task: 'hotpotqa',
      split,
      id: String(i),
      text,
      answers: [stringField(row, 'answer', file, i)],
      meta: { type: stringField(row, 'type', file, i) },
    };
  });
}

export const hotpotqa: TaskDefinition = {
  name: 'hotpotqa',
  splits: SPLITS,
  evalSplits: ['dev'],
  usesSearch: true,
  load,
  // Both rules: FireAct scored EM/F1 with this very normalisation.
  score(prediction, answers) {
    const { em, f1 } = qaScores(prediction, answers);
    return { score: em, metrics: { em, f1 } };
  },
};
