// Progress shape, queries and signals: defined once, used by workflows, CLI and tests.
import { defineQuery } from '@temporalio/workflow';
import type { BlockedState } from './blocked';
import type { BudgetPause, BudgetState } from './budget';

export const STAGES = ['prepare', 'generate', 'curate', 'build-datasets', 'fine-tune', 'evaluate', 'report'] as const;
export type StageName = (typeof STAGES)[number];
export type StageStatus = 'pending' | 'running' | 'done' | 'failed' | 'cancelled' | 'skipped';

export interface StageProgress {
  status: StageStatus;
  done: number;
  total: number;
  startedAt?: string;
  endedAt?: string;
  note?: string;
}

export interface ExperimentProgress {
  experiment: string;
  stage: StageName | 'done' | 'failed' | 'cancelled';
  stages: Record<StageName, StageProgress>;
  counts: Record<string, number>;
  /** Where the experiment's artifacts live (folder in the artifact store). */
  artifactRoot?: string;
  /** Set while the experiment waits for its budget to be raised (the stage it paused in stays in `stage`). */
  paused?: BudgetPause;
  /** Set while a stage waits for `fireact resume` after an activity made no progress for blockedAfterSeconds. */
  blocked?: BlockedState;
  /** Caps and spend so far, where the config has a budget. */
  budget?: BudgetState;
}

/** What generation through the Batch API did: batches made, shard rounds, requests sent, requests asked again, episodes finished synchronously. */
export interface BatchTotals {
  batches: number;
  rounds: number;
  requests: number;
  failedRequests: number;
  syncEpisodes: number;
}

export interface ShardProgress {
  shard: string;
  done: number;
  total: number;
  succeeded: number;
  failed: number;
  /** Runs of this shard so far (continue-as-new). */
  run: number;
}

export const progressQuery = defineQuery<ExperimentProgress>('progress');
export const shardProgressQuery = defineQuery<ShardProgress>('progress');
