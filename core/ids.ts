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

/** FNV-1a, 32 bit: a stable short hash usable in workflow code (no crypto there). */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** The idempotency key of a remote fine-tuning job: 1-64 of [A-Za-z0-9._-], the same on every retry. */
export function fineTuneKey(experiment: string, student: string, dataset: string): string {
  const whole = `${experiment}.${student}.${dataset}`;
  const safe = whole.replace(/[^A-Za-z0-9._-]/g, '_');
  return safe.length <= 64 ? safe : `${safe.slice(0, 55)}-${fnv1a(whole)}`;
}
