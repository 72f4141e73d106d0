// What the report stage renders: everything is small and already aggregated (no trajectories).
import type { ScoringRule } from '../../core/config';
import type { FineTuneBackendName } from '../../core/names';

export interface MetricWithCi {
  mean: number;
  /** 95% bootstrap interval. */
  lo: number;
  hi: number;
}

export interface EvalRow {
  /** Model name as in the config (e.g. "teacher", "tiny-student@multitask-multimethod", "base"). */
  model: string;
  kind: 'student' | 'base' | 'teacher';
  task: string;
  split: string;
  method: string;
  /** Tool noise during evaluation: none, empty results, or a random other snippet. */
  noise: 'none' | 'empty' | 'random';
  n: number;
  /** The rule that scored the metrics (absent in rows of evaluations that ran before rules existed: lenient). */
  scoring?: ScoringRule;
  /** Task metrics: em and f1 (HotpotQA, Bamboogle) or accuracy (StrategyQA, MMLU). */
  metrics: Record<string, MetricWithCi>;
  validActionRate: number;
  finishedRate: number;
  meanSteps: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export interface StudentSummary {
  name: string;
  backend: FineTuneBackendName;
  baseModel: string;
  dataset: string;
  /** True for the small model built from a config (offline demo), not a pretrained one. */
  tinyDemoModel: boolean;
  fineTunedModel: string;
  steps?: number;
  trainLoss?: number;
  tokensPerSecond?: number;
}

export interface SpendRow {
  model: string;
  stage: string;
  calls: number;
  cachedCalls: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  /** No price known for this model (replay, local, unknown names). */
  unpriced: boolean;
  /** Generation through the Batch API: costUsd is at the batch price; what synchronous calls would have cost, and how it ran. */
  batch?: { syncCostUsd: number; discount: number; batches: number; rounds: number; requests: number; failedRequests: number; syncEpisodes: number };
}

export interface ReportInput {
  experiment: string;
  name: string;
  description?: string;
  generatedAt: string;
  teacher: { name: string; model: string; replay: boolean };
  students: StudentSummary[];
  datasets: Array<{ name: string; records: number; byTask: Record<string, number>; byMethod: Record<string, number> }>;
  curation: { total: number; kept: number; drops: Record<string, number> };
  replaySkipped: Record<string, number>;
  evaluation: EvalRow[];
  /** Our rows beside the paper's published figures, where a setting matches (lib/report/paper.ts). */
  paper?: PaperComparison;
  spend: SpendRow[];
  stageSeconds: Record<string, number>;
}

// Our rows beside the paper's published figures (built by ./paper.ts).

export interface PaperSide {
  label: string;
  trainedOn: string;
  n: number;
  scoring: ScoringRule;
  /** Percent. */
  metrics: Record<string, number>;
  finishedRate: number;
  table: string;
}

export interface OurSide {
  model: string;
  kind: EvalRow['kind'];
  trainedOn: string;
  n: number;
  scoring?: ScoringRule;
  metrics: Record<string, MetricWithCi>;
  finishedRate: number;
}

/** One line of a setting's table: a paper figure, one of ours, or both when the student is the same. */
export interface PaperLine {
  paper?: PaperSide;
  ours?: OurSide;
}

export interface PaperSetting {
  task: string;
  split: string;
  method: string;
  /** Which of the paper's questions ours are, in words. */
  questions: string;
  metrics: string[];
  lines: PaperLine[];
  tables: string[];
  remarks: string[];
}

export interface PaperComparison {
  settings: PaperSetting[];
  /** Evaluations on the paper's task, split and method whose questions are not the paper's. */
  unmatched: string[];
}
