// A planned question sample: the very freezeSample call prepareExperiment makes for a config entry,
// shown as the positions it picks; a split that cannot be loaded or sampled becomes a problem line.
import type { ExperimentConfig, GenerateTask, TaskName } from '../../core/config';
import { ErrorType, isTypedFailure } from '../../core/errors';
import type { Question } from '../../core/trajectory';
import type { ClientProvider } from '../experiment/clients';
import { freezeSample } from '../experiment/sample';
import type { SampleOrder } from '../tasks/sampling';

export interface PlannedSampleView {
  /** Index of the entry in its config list (generate.tasks or evaluate.tasks). */
  entry: number;
  task: TaskName;
  split: string;
  order: SampleOrder;
  seed: number;
  /** Questions in the split; null when it could not be loaded. */
  splitSize: number | null;
  /** Questions of the split left out by sample.exclude before sampling. */
  excluded?: { splits: string[]; questions: number };
  /** Questions chosen (0 when the split could not be loaded or sampled). */
  n: number;
  /** Positions in the split, in sample order. */
  indices: number[];
  ids: string[];
  error?: string;
}

export interface PlannedSampleResult {
  view: PlannedSampleView;
  questions: Question[];
  problem?: string;
}

/** `list` is the config path of the entries ("generate.tasks" or "evaluate.tasks"). */
export async function planSample(
  clients: ClientProvider,
  config: ExperimentConfig,
  entry: Pick<GenerateTask, 'task' | 'split' | 'sample'>,
  list: string,
  index: number,
): Promise<PlannedSampleResult> {
  const where = `${list}.${index}`;
  const base = { entry: index, task: entry.task, split: entry.split, order: entry.sample.order, seed: entry.sample.seed ?? config.seed };
  try {
    const frozen = await freezeSample(clients, config, entry, where);
    const questions = frozen.file.questions;
    const excluded = frozen.file.excluded ? { excluded: frozen.file.excluded } : {};
    return { view: { ...base, splitSize: frozen.file.splitSize, ...excluded, n: questions.length, indices: frozen.indices, ids: questions.map((q) => q.id) }, questions };
  } catch (err) {
    const message = (err as Error).message;
    const kind = isTypedFailure(err) && err.type === ErrorType.MissingData ? 'missing data: ' : '';
    const problem = kind + (message.startsWith(`${where} `) ? message : `${where} (${entry.task} ${entry.split}): ${message}`);
    return { view: { ...base, splitSize: null, n: 0, indices: [], ids: [], error: message }, questions: [], problem };
  }
}
