// One model on one eval sample with one method and tool-noise setting. Local models are served and
// evaluated on task queue fireact-gpu (where they were trained); API models on fireact.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities, EvalInput, EvalRow } from '../activities';
import { profiles } from '../core/activity-profiles';
import { GPU_TASK_QUEUE, TASK_QUEUE } from '../core/ids';

const acts = proxyActivities<Activities>(profiles.evalJob);

export async function EvaluateModel(input: EvalInput): Promise<EvalRow> {
  const t = input.target;
  return acts.evaluateModel.executeWithOptions(
    {
      ...profiles.evalJob,
      taskQueue: t.local ? GPU_TASK_QUEUE : TASK_QUEUE,
      summary: `${t.name} (${t.prompt === 'student' ? 'zero-shot' : 'few-shot'} ${t.method}) on ${input.task} ${input.split}${input.noise === 'none' ? '' : `, search ${input.noise}`}`,
    },
    [input],
  );
}
