// The task registry: every task by name, and split loading with a per-process memo.
// Adding a task = one module + one line in TASKS.
import * as path from 'path';
import { TASK_NAMES, type TaskName } from '../../core/names';
import { ErrorType, typedFailure } from '../../core/errors';
import type { Question } from '../../core/trajectory';
import { memoise } from '../cache/memo';
import type { TaskDefinition } from './types';
import { bamboogle } from './bamboogle';
import { hotpotqa } from './hotpotqa';
import { mmlu } from './mmlu';
import { strategyqa } from './strategyqa';

export const TASKS: Readonly<Record<TaskName, TaskDefinition>> = {
  hotpotqa,
  strategyqa,
  bamboogle,
  mmlu,
};

function isTaskName(name: string): name is TaskName {
  return (TASK_NAMES as readonly string[]).includes(name) && name in TASKS;
}

/** The task called `name`; InvalidConfig naming the known tasks otherwise. */
export function getTask(name: string): TaskDefinition {
  if (!isTaskName(name)) {
    throw typedFailure({
      type: ErrorType.InvalidConfig,
      message: `unknown task "${name}"; known tasks: ${Object.keys(TASKS).join(', ')}`,
      nonRetryable: true,
    });
  }
  return TASKS[name];
}

/** Builds a derived split (one not read from a task's own files) for a task. */
export type SplitLoader = (dataDir: string, task: TaskName) => Promise<Question[]>;

// Derived splits by name, e.g. "fireact" (the questions of the fine-tuning files). Not a client:
// a plain table other modules add to at import time.
const splitLoaders = new Map<string, SplitLoader>();

// Loaded splits keyed by absolute data path + task + split. Promises are kept so concurrent
// loads of one split share one read; a failed load is forgotten so it can be tried again.
const memo = new Map<string, Promise<Question[]>>();

function memoKey(dataDir: string, task: TaskName, split: string): string {
  return `${path.resolve(dataDir)}\u0000${task}\u0000${split}`;
}

/** Adds (or replaces) a derived split; loadSplit consults these before the task's own splits. */
export function registerSplitLoader(split: string, loader: SplitLoader): void {
  splitLoaders.set(split, loader);
  for (const key of memo.keys()) if (key.endsWith(`\u0000${split}`)) memo.delete(key);
}

/** Every split a task can load: its own, then the derived ones. */
export function splitsOf(task: TaskName): string[] {
  return [...getTask(task).splits, ...[...splitLoaders.keys()].filter((s) => !getTask(task).splits.includes(s))];
}

/**
 * The questions of one split, read once per process. Callers get their own array (the question
 * objects are shared and must not be mutated). MissingData for an unknown split or missing file.
 */
export async function loadSplit(dataDir: string, task: TaskName, split: string): Promise<Question[]> {
  const definition = getTask(task);
  const key = memoKey(dataDir, task, split);
  const derived = splitLoaders.get(split);
  return [...(await memoise(memo, key, () => (derived ? derived(dataDir, task) : definition.load(dataDir, split))))];
}

/** Forgets every loaded split (tests, or a process that knows the files changed). */
export function clearSplitMemo(): void {
  memo.clear();
}
