// MMLU: four-option multiple choice over 57 subjects, answered without tools. The `train` split is
// the auxiliary training sets shipped beside it (ARC, OBQA, MCTest, RACE, law) in the same columns.
import * as path from 'path';
import type { Question } from '../../core/trajectory';
import type { TaskDefinition } from './types';
import { badData, listDataFiles, readCsv, unknownSplit } from './files';
import { extractChoiceLetter, fireactChoice, normalizeAnswer } from './scoring';

const SPLITS = ['dev', 'val', 'test', 'train'] as const;
const LETTERS = ['A', 'B', 'C', 'D'];

/** The prompt text, exactly as the FireAct fine-tuning files show MMLU questions. */
function mmluQuestionText(question: string, a: string, b: string, c: string, d: string): string {
  return `Question: ${question}\nA. ${a}\nB. ${b}\nC. ${c}\nD. ${d}`;
}

async function load(dataDir: string, split: string): Promise<Question[]> {
  if (!(SPLITS as readonly string[]).includes(split)) throw unknownSplit('mmlu', split, SPLITS);
  const dir = `mmlu/${split}`;
  // Subject files are `<subject>_<split>.csv`, except in train where the file name is the subject.
  const suffix = split === 'train' ? '.csv' : `_${split}.csv`;
  const names = await listDataFiles(dataDir, dir, (name) => name.endsWith(suffix) && name.length > suffix.length);
  const questions: Question[] = [];
  for (const name of names) {
    const subject = name.slice(0, -suffix.length);
    const rel = `${dir}/${name}`;
    const file = path.resolve(dataDir, rel);
    const rows = await readCsv(dataDir, rel);
    rows.forEach((row, i) => {
      if (row.length !== 6) throw badData(file, `row ${i}: expected 6 fields, found ${row.length}`);
      const [q, a, b, c, d, letter] = row;
      const gold = LETTERS.indexOf(letter);
      if (gold < 0) throw badData(file, `row ${i}: answer "${letter}" is not one of A, B, C, D`);
      questions.push({
        task: 'mmlu',
        split,
        id: `${subject}/${i}`,
        text: mmluQuestionText(q, a, b, c, d),
        // The letter first (the gold), then the option's text, so a prediction that names the option
        // by its text also scores; see score below.
        answers: [letter, row[1 + gold]],
        meta: { subject },
      });
    });
  }
  return questions;
}

export const mmlu: TaskDefinition = {
  name: 'mmlu',
  splits: SPLITS,
  evalSplits: ['test'],
  // FireAct's MMLU agent had the search tool too (most of its trajectories finish without using it).
  usesSearch: true,
  recorded: { steps: { react: 2, reflexion: 7 }, turnChars: { io: 40, cot: 359, react: 292, reflexion: 396, observation: 217 } },
  load,
  /**
   * answers[0] is the gold letter; later answers are texts of the gold option. Lenient: a prediction
   * that names a letter is judged by the letter alone; one that names none, by its text. FireAct: by
   * whether it starts with the gold letter.
   */
  score(prediction, answers, rule) {
    let accuracy = 0;
    if (prediction !== null && answers.length > 0 && rule === 'fireact') {
      // The gold letter; the derived "fireact" splits' gold is a recorded finish, sometimes "B. eagle".
      accuracy = fireactChoice(prediction, extractChoiceLetter(answers[0]) ?? answers[0]);
    } else if (prediction !== null && answers.length > 0) {
      const letter = extractChoiceLetter(prediction);
      if (letter !== null) {
        accuracy = letter === answers[0].trim().toUpperCase() ? 1 : 0;
      } else {
        const said = normalizeAnswer(prediction);
        accuracy = said !== '' && answers.slice(1).some((text) => normalizeAnswer(text) === said) ? 1 : 0;
      }
    }
    return { score: accuracy, metrics: { accuracy } };
  },
};
