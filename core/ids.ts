// Deterministic, readable ids for the Temporal UI: `<experiment>/generate/hotpotqa-react-3`.
import type { MethodName, TaskName } from './config';

export const TASK_QUEUE = 'fireact';
export const GPU_TASK_QUEUE = 'fireact-gpu';
export const WORKFLOW_TYPE = 'FireActExperiment';
/** Keyword search attribute holding the experiment's current stage. */
export const STAGE_SEARCH_ATTRIBUTE = 'FireActStage';

export function shardWorkflowId(experiment: string, task: TaskName, method: MethodName, shard: number): string {
  return `${experiment}/generate/${task}-${method}-${shard}`;
}

export function shardName(task: TaskName, method: MethodName, shard: number): string {
  return `${task}-${method}-${shard}`;
}
