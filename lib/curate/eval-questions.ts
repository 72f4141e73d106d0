// The evaluation questions curation keeps out of training data (its "eval-leak" rule): every
// question of every task's eval splits. `fireact plan`/`validate` check generation samples against
// the same set, so a sample that curation would throw away is caught before it is paid for.
import { TASKS } from '../tasks/registry';
import { normalizeQuestion } from './normalize';

/** normalizeQuestion(text) → "<task> <split>" of the eval split that holds it. */
export type EvalQuestions = Map<string, string>;

/** Loads every task's eval splits from `dataDir`; a split that cannot be read is reported through `onMissing`. */
export async function loadEvalQuestions(dataDir: string, onMissing: (task: string, split: string, err: Error) => void): Promise<EvalQuestions> {
  const out: EvalQuestions = new Map();
  for (const t of Object.values(TASKS)) {
    for (const split of t.evalSplits) {
      try {
        for (const q of await t.load(dataDir, split)) out.set(normalizeQuestion(q.text), `${t.name} ${split}`);
      } catch (err) {
        onMissing(t.name, split, err as Error);
      }
    }
  }
  return out;
}
