// HotpotQA: multi-hop questions answered with search. dev and test are the distractor sets as released
// with FireAct; train is HotpotQA's official training set, which FireAct generated its trajectories on.
import * as path from 'path';
import type { Question } from '../../core/trajectory';
import type { TaskDefinition } from './types';
import { readJsonArray, readJsonArrayRows, stringField, unknownSplit, type ExternalDataFile } from './files';
import { scoreQa } from './scoring';

const SPLITS = ['dev', 'test', 'train'] as const;

const HOTPOTQA_TRAIN_FILE = 'hotpotqa/hotpot_train_v1.1.json';

const TRAIN: ExternalDataFile = {
  what: "HotpotQA's official training set, hotpot_train_v1.1.json",
  source: 'https://hotpotqa.github.io',
  shape: 'a JSON array of {"_id", "question", "answer", "type", "level", "supporting_facts", "context"} objects, of which "question", "answer" and "type" (bridge or comparison) are read',
};

function row(split: string, file: string, r: Record<string, unknown>, i: number): Question {
  const text = stringField(r, 'question', file, i);
  if (split === 'test') return { task: 'hotpotqa', split, id: String(i), text, answers: [] };
  return {
    task: 'hotpotqa',
    split,
    id: String(i),
    text,
    answers: [stringField(r, 'answer', file, i)],
    meta: { type: stringField(r, 'type', file, i) },
  };
}

async function load(dataDir: string, split: string): Promise<Question[]> {
  if (!(SPLITS as readonly string[]).includes(split)) throw unknownSplit('hotpotqa', split, SPLITS);
  if (split === 'train') {
    // About 540 MB: streamed row by row, keeping only what a question needs (not the context paragraphs).
    const file = path.resolve(dataDir, HOTPOTQA_TRAIN_FILE);
    return readJsonArrayRows(dataDir, HOTPOTQA_TRAIN_FILE, (r, i) => row(split, file, r, i), TRAIN);
  }
  const rel = `hotpotqa/${split}.json`;
  const file = path.resolve(dataDir, rel);
  const rows = await readJsonArray(dataDir, rel);
  return rows.map((r, i) => row(split, file, r, i));
}

export const hotpotqa: TaskDefinition = {
  name: 'hotpotqa',
  splits: SPLITS,
  evalSplits: ['dev'],
  usesSearch: true,
  recorded: { steps: { react: 3, reflexion: 8 }, turnChars: { io: 40, cot: 196, react: 152, reflexion: 240, observation: 116 } },
  load,
  score: scoreQa,
};
