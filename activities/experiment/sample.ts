// Freezing one generate entry's question sample. prepareExperiment writes what this returns and
// `fireact plan` shows it, so both go through this one function and cannot disagree.
import { ApplicationFailure } from '@temporalio/common';
import type { ExperimentConfig, GenerateTask, TaskName } from '../../core/config';
import { ErrorType } from '../../core/errors';
import type { Question } from '../../core/trajectory';
import { sampleQuestions, type SampleOrder } from '../tasks/sampling';
import type { ClientProvider } from './clients';
import { loadQuestions } from './questions';

/** The sample file's content, exactly as prepareExperiment stores it. */
export interface SampleFile {
  task: TaskName;
  split: string;
  order: SampleOrder;
  seed: number;
  splitSize: number;
  questions: Question[];
}

export interface FrozenSample {
  file: SampleFile;
  /** Position in the split of each chosen question, in sample order. */
  indices: number[];
}

/**
 * Loads the entry's split and takes its sample (the entry's seed, else the experiment's).
 * MissingData from the split loader passes through; a bad n or seed becomes InvalidConfig naming the entry.
 */
/** `where` names the config entry in errors, e.g. "generate.tasks.2". */
export async function freezeSample(
  clients: ClientProvider,
  config: ExperimentConfig,
  entry: Pick<GenerateTask, 'task' | 'split' | 'sample'>,
  where: string,
): Promise<FrozenSample> {
  const all = await loadQuestions(clients, config, entry.task, entry.split);
  const seed = entry.sample.seed ?? config.seed;
  let indices: number[];
  try {
    // Sampling positions rather than questions gives the indices for free and the same choice.
    indices = sampleQuestions(
      all.map((_, i) => i),
      { n: entry.sample.n, order: entry.sample.order, seed },
    );
  } catch (err) {
    throw ApplicationFailure.create({
      type: ErrorType.InvalidConfig,
      message: `${where} (${entry.task} ${entry.split}): ${(err as Error).message}`,
      nonRetryable: true,
    });
  }
  return {
    file: { task: entry.task, split: entry.split, order: entry.sample.order, seed, splitSize: all.length, questions: indices.map((i) => all[i]) },
    indices,
  };
}
