// Starting an experiment from a config file: validated locally first, so a bad config fails at once.
import type { Client, Connection } from '@temporalio/client';
import { TASK_QUEUE, WORKFLOW_TYPE } from '../../core/ids';
import { loadConfigFile } from '../../activities/experiment/config-file';
import type { ExperimentInput } from '../../workflows/experiment';
import { ensureStageSearchAttribute } from './connection';

export function timestampId(name: string, d = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${name}-${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
}

/** Reads and validates the config file (throws ConfigError naming the fields) and returns the workflow input. */
export async function experimentInput(file: string): Promise<{ input: ExperimentInput; name: string }> {
  const config = await loadConfigFile(file);
  return { input: { config }, name: config.name };
}

export async function startExperiment(client: Client, connection: Connection, input: ExperimentInput, id: string): Promise<void> {
  const withAttrs: ExperimentInput = { ...input, noSearchAttributes: !(await ensureStageSearchAttribute(connection)) };
  await client.workflow.start(WORKFLOW_TYPE, { taskQueue: TASK_QUEUE, workflowId: id, args: [withAttrs], staticSummary: `FireAct experiment ${id}` });
}
