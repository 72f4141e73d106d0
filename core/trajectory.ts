// The trajectory record: the one shape every stage reads and writes. Pure types + helpers (workflow-safe).
import type { MethodName, TaskName } from './config';

export const TRAJECTORY_SCHEMA = 'fireact.trajectory/v1';

export interface Question {
  task: TaskName;
  split: string;
  /** Stable within the split: the row index, or a hash for derived splits. */
  id: string;
  /** The full prompt text shown to the agent (MMLU: "Question: ...\nA. ...\nB. ..."). Raw, untrimmed. */
  text: string;
  /** Gold answers (any matches); empty when the split has none (test splits). */
  answers: string[];
  /** Extra task fields worth keeping (HotpotQA type, MMLU subject). */
  meta?: Record<string, string>;
}

export interface Usage {
  calls: number;
  promptTokens: number;
  completionTokens: number;
  /** Calls answered by the content-addressed cache (not paid again). */
  cachedCalls: number;
}

export interface ToolCall {
  name: 'search';
  query: string;
  backend: string;
  cached: boolean;
  /** Set when the tool failed and the failure became the observation. */
  error?: string;
}

export type Turn =
  | { role: 'assistant'; content: string; usage?: { promptTokens: number; completionTokens: number; cached: boolean } }
  | { role: 'observation'; content: string; tool?: ToolCall };

/** How an observation is shown to a model (prompts, fine-tuning data, recordings); stored turns lack it. */
export const OBSERVATION_PREFIX = 'Observation: ';

export interface TrajectoryRecord {
  schema: typeof TRAJECTORY_SCHEMA;
  /** `<task>/<split>/<method>/<questionId>` — unique per experiment (records written before splits were named: `<task>/<method>/<questionId>`). */
  id: string;
  experiment: string;
  question: Question;
  method: MethodName;
  teacher: { name: string; provider: string; model: string; replay: boolean };
  /** Everything after the question, in order; observations are stored without the "Observation: " prefix. */
  turns: Turn[];
  prediction: string | null;
  finished: boolean;
  /** Task score of the prediction (1 = correct); null when there is no gold answer. */
  reward: number | null;
  metrics: Record<string, number>;
  steps: number;
  trials: number;
  /** Model outputs with no parsable action (each re-asked). */
  malformed: number;
  forcedFinish: boolean;
  usage: Usage;
  /** Why a replayed episode could not follow its recording, if it could not. */
  replayNote?: string;
}

/** A question is only unique within its split (row 3 of HotpotQA dev is not row 3 of test), so the id names it. */
export function trajectoryId(question: Pick<Question, 'task' | 'split' | 'id'>, method: MethodName): string {
  return `${question.task}/${question.split}/${method}/${question.id}`;
}

export function emptyUsage(): Usage {
  return { calls: 0, promptTokens: 0, completionTokens: 0, cachedCalls: 0 };
}

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    calls: a.calls + b.calls,
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    cachedCalls: a.cachedCalls + b.cachedCalls,
  };
}
