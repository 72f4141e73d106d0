// Where an experiment's artifacts live inside the store: one folder per experiment.
import type { MethodName, TaskName } from '../../core/config';
import { experimentDir, pathSegment } from '../../core/ids';
import type { Question } from '../../core/trajectory';

export { experimentDir };

/** A file name for a question id (MMLU ids hold a "/"). */
const questionFile = (questionId: string) => `${pathSegment(questionId)}.json`;

export const layout = {
  config: (exp: string) => `${experimentDir(exp)}/config.json`,
  sample: (exp: string, task: TaskName, split: string) => `${experimentDir(exp)}/questions/${task}-${split}.json`,
  /** One file per (question, method); the split is in the path because question ids repeat across splits. */
  trajectory: (exp: string, q: Pick<Question, 'task' | 'split' | 'id'>, method: MethodName) =>
    `${experimentDir(exp)}/trajectories/${q.task}/${q.split}/${method}/${questionFile(q.id)}`,
  /** Where releases before the split was named wrote a trajectory (read only, see experiment/trajectories.ts). */
  legacyTrajectory: (exp: string, q: Pick<Question, 'task' | 'id'>, method: MethodName) =>
    `${experimentDir(exp)}/trajectories/${q.task}/${method}/${questionFile(q.id)}`,
  curated: (exp: string) => `${experimentDir(exp)}/curated/trajectories.jsonl`,
  dropped: (exp: string) => `${experimentDir(exp)}/curated/dropped.jsonl`,
  curateReport: (exp: string) => `${experimentDir(exp)}/curated/report.json`,
  dataset: (exp: string, name: string, file: string) => `${experimentDir(exp)}/datasets/${name}/${file}`,
  evalSample: (exp: string, task: TaskName, split: string) => `${experimentDir(exp)}/eval-questions/${task}-${split}.json`,
  model: (exp: string, name: string) => `${experimentDir(exp)}/models/${pathSegment(name)}`,
  evalRun: (exp: string, model: string, task: TaskName, split: string, method: MethodName, noise: string) =>
    `${experimentDir(exp)}/eval/${pathSegment(model)}/${task}-${split}-${method}-${noise}`,
  evalEpisode: (runDir: string, questionId: string) => `${runDir}/${questionFile(questionId)}`,
  report: (exp: string) => `${experimentDir(exp)}/report`,
  /** A batch round's input files and manifests (generate.mode batch). */
  batchRound: (exp: string, shard: string, round: number) => `${experimentDir(exp)}/batches/${shard}/round-${round}`,
};
