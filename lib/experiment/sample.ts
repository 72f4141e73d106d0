// Freezing one generate entry's question sample. prepareExperiment writes what this returns and
// `fireact plan` shows it, so both go through this one function and cannot disagree.
import type { ExperimentConfig, GenerateTask, TaskName } from '../../core/config';
import { ErrorType, typedFailure } from '../../core/errors';
import type { Question } from '../../core/trajectory';
import { normalizeQuestion } from '../curate/normalize';
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
  /** Splits whose questions were left out before sampling, and how many of the split's questions that removed. */
  excluded?: { splits: string[]; questions: number };
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
  const exclude = entry.sample.exclude ?? [];
  const invalid = (message: string) =>
    typedFailure({ type: ErrorType.InvalidConfig, message: `${where} (${entry.task} ${entry.split}): ${message}`, nonRetryable: true });
  if (exclude.includes(entry.split)) throw invalid(`sample.exclude names the sampled split "${entry.split}" itself`);
  const left = new Set<string>();
  for (const split of exclude) for (const q of await loadQuestions(clients, config, entry.task, split)) left.add(normalizeQuestion(q.text));
  const isKept = left.size ? all.map((q) => !left.has(normalizeQuestion(q.text))) : [];
  const kept = (i: number) => left.size === 0 || isKept[i];
  let indices: number[];
  try {
    // Sampling positions rather than questions gives the indices for free and the same choice.
    const positions = all.map((_, i) => i);
    if (exclude.length === 0) indices = sampleQuestions(positions, { n: entry.sample.n, order: entry.sample.order, seed });
    else {
      // The order over the whole split, less the excluded questions: the same sequence the order gives, minus those.
      const candidates = sampleQuestions(positions, { order: entry.sample.order, seed }).filter(kept);
      const n = entry.sample.n ?? candidates.length;
      if (n > candidates.length) {
        throw new Error(`sample n = ${n} is larger than the split less its ${exclude.join(', ')} questions, which leaves ${candidates.length} of ${all.length}`);
      }
      indices = candidates.slice(0, n);
    }
  } catch (err) {
    throw invalid((err as Error).message);
  }
  const questions = indices.map((i) => all[i]);
  const excluded = exclude.length ? { splits: exclude, questions: isKept.filter((k) => !k).length } : undefined;
  return {
    file: { task: entry.task, split: entry.split, order: entry.sample.order, seed, splitSize: all.length, ...(excluded ? { excluded } : {}), questions },
    indices,
  };
}
