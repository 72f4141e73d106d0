// The benchmark's questions: N episodes over HotpotQA dev and StrategyQA, shared by `npm run bench`
// and `npm run bench:curation`.
import type { GenerateTask } from '../../core/config';

const HOTPOT_SPLIT = 7405;
/** StrategyQA's strategyqa_train_filtered.json, the training file bundled with the data. */
const STRATEGYQA_TRAIN = 2821;

/** Questions for N episodes: HotpotQA dev with ReAct, then more methods, then StrategyQA train-filtered. */
export function generateTasks(n: number): GenerateTask[] {
  const most = 4 * HOTPOT_SPLIT + STRATEGYQA_TRAIN;
  if (n > most) throw new Error(`--episodes: at most ${most}`);
  const methods = (['react', 'cot', 'io', 'reflexion'] as const).slice(0, Math.max(1, Math.min(4, Math.floor(n / HOTPOT_SPLIT))));
  const dev = Math.min(n, HOTPOT_SPLIT);
  const tasks: GenerateTask[] = [{ task: 'hotpotqa', split: 'dev', methods: [...methods], sample: { n: dev, order: 'seeded' } }];
  // Past HotpotQA dev's four methods: another task's questions.
  const rest = n - dev * methods.length;
  if (rest > 0) tasks.push({ task: 'strategyqa', split: 'train-filtered', methods: ['react'], sample: { n: rest, order: 'seeded' } });
  return tasks;
}

