// One student on one dataset mix. A backend of kind "local" (core/names.ts) trains with the Python
// trainer on task queue fireact-gpu; one of kind "hosted" creates the job once through the hosted-job
// activities (its id is recorded in history the moment it exists) and follows it, so a crash, retry or
// reset never starts a second job; cancelling the experiment cancels the remote job.
import { ActivityCancellationType, CancellationScope, defineQuery, isCancellation, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { profiles } from '../core/activity-profiles';
import { experimentDir, fineTuneKey, GPU_TASK_QUEUE, legacyFineTuneKey } from '../core/ids';
import { isHostedFineTune } from '../core/names';
import type { FineTuneInput, FineTuneOutcome } from '../activities/contracts';

const quick = proxyActivities<Activities>(profiles.quick);
const remote = proxyActivities<Activities>({ ...profiles.longJob, cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED });
const gpu = proxyActivities<Activities>({ ...profiles.longJob, taskQueue: GPU_TASK_QUEUE });

const fineTuneStatusQuery = defineQuery<{ student: string; dataset: string; status: string; jobId?: string }>('progress');

export async function FineTuneStudent(input: FineTuneInput): Promise<FineTuneOutcome> {
  const { student, dataset, handle } = input;
  const state: { student: string; dataset: string; status: string; jobId?: string } = { student: student.name, dataset: dataset.name, status: 'starting' };
  setHandler(fineTuneStatusQuery, () => state);
  const datasetPath = `${handle.artifactDir}/${dataset.path}`;

  if (!isHostedFineTune(student.backend)) {
    state.status = 'training';
    const modelRoot = `${handle.artifactDir}/${experimentDir(handle.experiment)}/models`;
    const r = await gpu.trainLocal.executeWithOptions(
      { ...profiles.longJob, taskQueue: GPU_TASK_QUEUE, summary: `train ${student.name} (${student.mode}) on ${dataset.name}, ${dataset.records} records` },
      [
        {
          student,
          datasetName: dataset.name,
          datasetPath,
          baseDir: `${modelRoot}/${student.name}-base`,
          outDir: `${modelRoot}/${student.name}-${dataset.name}`,
          ...(handle.blockedAfterMs ? { blockedAfterMs: handle.blockedAfterMs } : {}),
        },
      ],
    );
    state.status = 'done';
    return {
      student: student.name,
      dataset: dataset.name,
      backend: 'local',
      baseModel: student.baseModel,
      tinyDemoModel: r.tinyDemoModel,
      local: { modelDir: r.modelDir, adapterDir: r.adapterDir, baseModelDir: r.baseModel },
      fineTunedModel: r.adapterDir ?? r.modelDir,
      steps: r.steps,
      trainLoss: r.trainLoss ?? undefined,
      tokensPerSecond: r.tokensPerSecond ?? undefined,
    };
  }

  // Runs started before the hosted-job activities call them by their OpenAI names (OpenAI was the only hosted backend).
  const job = patched('hosted-finetune')
    ? { start: quick.startHostedFineTune, follow: remote.followHostedFineTune, cancel: quick.cancelHostedFineTune }
    : { start: quick.startOpenAIFineTune, follow: remote.followOpenAIFineTune, cancel: quick.cancelOpenAIFineTune };
  const endpoint = { baseUrl: student.baseUrl, apiKeyEnv: student.apiKeyEnv };
  const backend = { backend: student.backend, ...endpoint };
  const stuck = handle.blockedAfterMs ? { blockedAfterMs: handle.blockedAfterMs } : {};
  const idempotencyKey = fineTuneKey(handle.experiment, student.name, dataset.name);
  const legacyKey = legacyFineTuneKey(handle.experiment, student.name, dataset.name);
  const started = await job.start.executeWithOptions(
    { ...profiles.quick, summary: `upload ${dataset.name} and create the ${student.baseModel} fine-tuning job` },
    [
      {
        ...backend,
        ...stuck,
        datasetPath,
        datasetSha256: dataset.sha256,
        baseModel: student.baseModel,
        suffix: student.suffix ?? student.name.slice(0, 18),
        hyperparameters: { n_epochs: student.nEpochs, learning_rate_multiplier: student.learningRateMultiplier },
        idempotencyKey,
        // A run started before the key became injective made its job under the old form.
        ...(legacyKey !== idempotencyKey ? { previousIdempotencyKeys: [legacyKey] } : {}),
      },
    ],
  );
  state.jobId = started.jobId;
  state.status = 'following';
  try {
    const r = await job.follow.executeWithOptions(
      { ...profiles.longJob, cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED, summary: `follow job ${started.jobId}` },
      [{ ...backend, ...stuck, jobId: started.jobId, baseModel: student.baseModel }],
    );
    if (r.status !== 'succeeded' || !r.fineTunedModel) throw new Error(`fine-tuning job ${started.jobId} ended ${r.status} without a model`);
    state.status = 'done';
    return {
      student: student.name,
      dataset: dataset.name,
      backend: student.backend,
      baseModel: student.baseModel,
      tinyDemoModel: false,
      openai: { model: r.fineTunedModel, ...endpoint },
      fineTunedModel: r.fineTunedModel,
      steps: r.checkpoints.length ? Math.max(...r.checkpoints.map((c) => c.step)) : undefined,
      jobId: started.jobId,
    };
  } catch (err) {
    if (isCancellation(err)) {
      // The follower cancels the job on its way out; make sure of it even if it never ran.
      await CancellationScope.nonCancellable(() => job.cancel({ ...backend, jobId: started.jobId, baseModel: student.baseModel }));
    }
    throw err;
  }
}
