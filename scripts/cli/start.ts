// Starting an experiment from a config file: validated locally first, so a bad config fails at once.
import type { Client, Connection } from '@temporalio/client';
import { TASK_QUEUE, WORKFLOW_TYPE } from '../../core/ids';
import { ConfigError, type ExperimentConfig } from '../../core/config';
import { loadConfigFile } from '../../lib/experiment/config-file';
import { checkGpuMemory } from '../../lib/plan/gpu-memory';
import { expandPath, looksLikePath } from '../../lib/experiment/config-file';
import { GPU_TASK_QUEUE } from '../../core/ids';
import { FINETUNE_BACKEND_KINDS, type FineTuneBackendName } from '../../core/names';
import { ensureStageSearchAttribute } from './connection';
import { noWorkerMessage, unpolledQueues } from './inspect';
import type { ExperimentInput } from '../../activities/contracts';

export function timestampId(name: string, d = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${name}-${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
}

/** A local student that cannot fit its declared GPUs is as wrong as a bad field: ConfigError naming it. */
export async function refuseGpuMisfit(file: string, config: ExperimentConfig): Promise<void> {
  const gpu = await checkGpuMemory(config.students, (st) => (looksLikePath(st.baseModel) ? expandPath(st.baseModel, process.cwd()) : undefined));
  if (gpu.problems.length) throw new ConfigError(gpu.problems.map((p) => `${file}: ${p}`));
}

/** Reads and validates the config file (throws ConfigError naming the fields, and a GPU misfit). */
async function loadCheckedConfig(file: string): Promise<{ config: ExperimentConfig }> {
  const config = await loadConfigFile(file);
  await refuseGpuMisfit(file, config);
  return { config };
}

/** The checked config as the workflow input. */
export async function experimentInput(file: string): Promise<{ input: ExperimentInput; name: string }> {
  const { config } = await loadCheckedConfig(file);
  return { input: { config }, name: config.name };
}

export async function startExperiment(client: Client, connection: Connection, input: ExperimentInput, id: string): Promise<void> {
  const withAttrs: ExperimentInput = { ...input, noSearchAttributes: !(await ensureStageSearchAttribute(connection)) };
  await client.workflow.start(WORKFLOW_TYPE, { taskQueue: TASK_QUEUE, workflowId: id, args: [withAttrs], staticSummary: `FireAct experiment ${id}` });
}

/** A warning when no worker polls a queue this experiment needs ("fireact-gpu" only with a local student). */
export async function workerWarning(client: Client, input: ExperimentInput): Promise<string | undefined> {
  const students = (input.config as { students?: Array<{ backend?: string }> }).students ?? [];
  const needed = [
    { queue: TASK_QUEUE, kind: 'workflow' as const },
    { queue: TASK_QUEUE, kind: 'activity' as const },
    ...(students.some((s) => FINETUNE_BACKEND_KINDS[s.backend as FineTuneBackendName] === 'local') ? [{ queue: GPU_TASK_QUEUE, kind: 'activity' as const }] : []),
  ];
  const msg = noWorkerMessage(await unpolledQueues(client, needed));
  return msg && `warning: ${msg}; the experiment waits until one does`;
}
