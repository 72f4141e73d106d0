// One model on one eval sample with one method and tool-noise setting. Local models are served and
// evaluated on task queue fireact-gpu (where they were trained); API models on fireact.
import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { profiles } from '../core/activity-profiles';
import type { BudgetExhaustedDetails } from '../core/budget';
import { ErrorType } from '../core/errors';
import { GPU_TASK_QUEUE, TASK_QUEUE } from '../core/ids';
import type { EvalInput, EvalOutcome, EvalStopped } from '../activities/contracts';

const acts = proxyActivities<Activities>(profiles.evalJob);

export async function EvaluateModel(input: EvalInput): Promise<EvalOutcome | EvalStopped> {
  const t = input.target;
  try {
    return await acts.evaluateModel.executeWithOptions(
      {
        ...profiles.evalJob,
        taskQueue: t.local ? GPU_TASK_QUEUE : TASK_QUEUE,
        summary: `${t.name} (${t.prompt === 'student' ? 'zero-shot' : 'few-shot'} ${t.method}) on ${input.task} ${input.split}${input.noise === 'none' ? '' : `, search ${input.noise}`}`,
      },
      [input],
    );
  } catch (err) {
    // Only an evaluation given a budget can be refused; it returns what it paid so the experiment can pause and resume it.
    const cause = err instanceof ActivityFailure ? err.cause : undefined;
    if (input.budget && cause instanceof ApplicationFailure && cause.type === ErrorType.BudgetExhausted) {
      return { stopped: cause.details?.[0] as BudgetExhaustedDetails };
    }
    throw err;
  }
}
