// StrategyQA: yes/no questions needing implicit multi-step reasoning; gold is the boolean as yes/no.
// train is FireAct's training file, the StrategyQA release's strategyqa_train.json; train-filtered is
// the release's strategyqa_train_filtered.json (bundled), a different set: of the 577 StrategyQA
// questions in FireAct's fine-tuning data only one is in it.
import * as path from 'path';
import type { Question } from '../../core/trajectory';
import type { TaskDefinition } from './types';
import { badData, readJsonArray, stringField, unknownSplit, type ExternalDataFile } from './files';
import { extractYesNo, fireactYesNo } from './scoring';

const SPLITS = ['dev', 'test', 'train', 'train-filtered'] as const;
type Split = (typeof SPLITS)[number];

const FILES: Record<Split, string> = {
  dev: 'strategyqa/strategyqa_dev.json',
  test: 'strategyqa/strategyqa_test.json',
  train: 'strategyqa/strategyqa_train.json',
  'train-filtered': 'strategyqa/strategyqa_train_filtered.json',
};

const EXTERNAL: Partial<Record<Split, ExternalDataFile>> = {
  train: {
    what: "FireAct's StrategyQA training set: the StrategyQA release's strategyqa_train.json, not its strategyqa_train_filtered.json",
    source: 'https://allenai.org/data/strategyqa',
    shape: 'a JSON array of {"qid", "term", "description", "question", "answer": true|false, "facts", "decomposition", "evidence"} objects, of which "qid", "question" and "answer" are read',
  },
};

function isSplit(split: string): split is Split {
  return (SPLITS as readonly string[]).includes(split);
}

async function load(dataDir: string, split: string): Promise<Question[]> {
  if (!isSplit(split)) throw unknownSplit('strategyqa', split, SPLITS);
  const rel = FILES[split];
  const file = path.resolve(dataDir, rel);
  const rows = await readJsonArray(dataDir, rel, EXTERNAL[split]);
  return rows.map((row, i): Question => {
    const question: Question = {
      task: 'strategyqa',
      split,
      id: String(i),
      text: stringField(row, 'question', file, i),
      answers: [],
      meta: { qid: stringField(row, 'qid', file, i) },
    };
    if (split !== 'test') {
      if (typeof row.answer !== 'boolean') throw badData(file, `row ${i}: field "answer" is not a boolean`);
      question.answers = [row.answer ? 'yes' : 'no'];
    }
    return question;
  });
}

export const strategyqa: TaskDefinition = {
  name: 'strategyqa',
  splits: SPLITS,
  evalSplits: ['dev'],
  usesSearch: true,
  recorded: { steps: { react: 3, reflexion: 8 }, turnChars: { io: 40, cot: 466, react: 213, reflexion: 239, observation: 157 } },
  load,
  score(prediction, answers, rule) {
    let accuracy = 0;
    if (prediction !== null && rule === 'fireact') {
      // Gold is our "yes"/"no" for the file's boolean.
      const golds = answers.map(extractYesNo).filter((g) => g !== null);
      accuracy = golds.some((g) => fireactYesNo(prediction, g === 'yes') === 1) ? 1 : 0;
    } else if (prediction !== null) {
      const said = extractYesNo(prediction);
      accuracy = said !== null && answers.some((gold) => extractYesNo(gold) === said) ? 1 : 0;
    }
    return { score: accuracy, metrics: { accuracy } };
  },
};
