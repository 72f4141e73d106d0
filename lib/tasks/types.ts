import type { ScoringRule } from '../../core/config';
import type { MethodName, SingleTurnMethod } from '../../core/methods';
import type { TaskName } from '../../core/names';
import type { Question } from '../../core/trajectory';

export interface TaskScore {
  /** The task's primary metric in [0, 1]: EM for HotpotQA/Bamboogle, accuracy otherwise. */
  score: number;
  metrics: Record<string, number>;
}

export interface TaskDefinition {
  name: TaskName;
  /** Splits this task reads from the data directory (the derived "fireact" split is added by the registry). */
  splits: readonly string[];
  /** Held-out splits used for evaluation; curation drops training questions found in them. */
  evalSplits: readonly string[];
  /** Whether the agent's search tool is offered for this task. */
  usesSearch: boolean;
  /**
   * Means in the FireAct GPT-4 recordings (finetune/gpt_format/multitask_multimethod.jsonl), for
   * `fireact plan`'s typical figures: assistant turns per episode (rounded up), and characters of one
   * assistant turn per method and of one search observation.
   */
  recorded: {
    steps: Record<Exclude<MethodName, SingleTurnMethod>, number>;
    turnChars: Record<MethodName, number> & { observation: number };
  };
  load(dataDir: string, split: string): Promise<Question[]>;
  /**
   * prediction null = unfinished episode (scores 0). `rule` picks FireAct's checks or our lenient ones
   * (they differ for StrategyQA and MMLU only; HotpotQA and Bamboogle EM/F1 are the authors' already).
   */
  score(prediction: string | null, answers: readonly string[], rule: ScoringRule): TaskScore;
}
