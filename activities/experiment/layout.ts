// Where an experiment's artifacts live inside the store: one folder per experiment.
import type { MethodName, TaskName } from '../../core/config';

export function experimentDir(experiment: string): string {
  return experiment.replace(/[^A-Za-z0-9._-]/g, '_');
}

export const layout = {
  config: (exp: string) => `${experimentDir(exp)}/config.json`,
  sample: (exp: string, task: TaskName, split: string) => `${experimentDir(exp)}/questions/${task}-${split}.json`,
  trajectory: (exp: string, task: TaskName, method: MethodName, questionId: string) =>
    `${experimentDir(exp)}/trajectories/${task}/${method}/${questionId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`,
  curated: (exp: string) => `${experimentDir(exp)}/curated/trajectories.jsonl`,
  dropped: (exp: string) => `${experimentDir(exp)}/curated/dropped.jsonl`,
  curateReport: (exp: string) => `${experimentDir(exp)}/curated/report.json`,
  dataset: (exp: string, name: string, file: string) => `${experimentDir(exp)}/datasets/${name}/${file}`,
  evalSample: (exp: string, task: TaskName, split: string) => `${experimentDir(exp)}/eval-questions/${task}-${split}.json`,
  model: (exp: string, name: string) => `${experimentDir(exp)}/models/${name.replace(/[^A-Za-z0-9._-]/g, '_')}`,
  evalRun: (exp: string, model: string, task: TaskName, split: string, method: MethodName, noise: string) =>
    `${experimentDir(exp)}/eval/${model.replace(/[^A-Za-z0-9._-]/g, '_')}/${task}-${split}-${method}-${noise}`,
  report: (exp: string) => `${experimentDir(exp)}/report`,
};
