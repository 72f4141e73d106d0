// Every type that crosses the workflow boundary: activity inputs and results, child workflow inputs
// and results. Workflows import their data types from here (and `Activities` from ./index).
import type { ArtifactRef, DatasetFormat } from '../core/artifacts';
import type { Amount, BudgetExhaustedDetails, BudgetPlan, Cap } from '../core/budget';
import type { MethodName, StudentConfig, TaskName } from '../core/config';
import type { HostedFineTuneBackendName } from '../core/names';
import type { EvalPlanTarget } from '../core/eval-plan';
import type { BatchTotals } from '../core/progress';
import type { Usage } from '../core/trajectory';
import type { ExperimentHandle } from '../lib/experiment/frozen';
import type { FrozenEvalSample, ShardPlan } from '../lib/experiment/prepare';
import type { FineTuneHyperparameters, FineTuneResult, FineTuneStatus, FollowCursor } from '../lib/finetune/hosted';
import type { EvalRow, ReportInput } from '../lib/report/types';

// Defined where the library needs them, named here with the rest.
export type { EvalRow, ExperimentHandle, ReportInput, ShardPlan };

// Prepare, generate, curate, build-datasets (activities prepareExperiment, runEpisode, curate, buildDatasets).

export interface PrepareResult {
  handle: ExperimentHandle;
  shards: ShardPlan[];
  samples: ArtifactRef[];
  questions: number;
  episodes: number;
  replayedTeacher: boolean;
  /** Replay only: records of the FireAct files that could not be replayed, counted by reason. */
  replaySkipped: Record<string, number>;
  /** perActivity: episodes one activity runs (absent in histories recorded before it: one). */
  concurrency: { shards: number; episodes: number; perActivity?: number };
  continueAsNewAfterEvents: number;
  teacher: { name: string; model: string; provider: string };
  /** What follows the datasets: students to fine-tune and the frozen evaluation plan. */
  students: StudentConfig[];
  evaluation: {
    samples: FrozenEvalSample[];
    baselines: Array<{ model: string; methods: MethodName[]; kind: 'teacher' | 'base' }>;
    baseModels: boolean;
    toolNoise: Array<'none' | 'empty' | 'random'>;
    maxParallel: number;
  } | null;
  name: string;
  description?: string;
  /** Set when the config has a budget: caps, prices and reservations (replay and local models reserve nothing). */
  budget?: BudgetPlan | null;
  /** Set in generation mode batch: the status checks' backoff, in seconds. */
  batch?: { poll: { minSeconds: number; maxSeconds: number } };
}

export interface EpisodeInput {
  handle: ExperimentHandle;
  task: TaskName;
  method: MethodName;
  samplePath: string;
  index: number;
  /** What this episode may spend, reserved for it by the workflow's ledger; absent = unlimited. */
  allowance?: Cap;
}

export interface EpisodesInput extends Omit<EpisodeInput, 'index' | 'allowance'> {
  /** Question indices from..to-1 of the sample. */
  from: number;
  to: number;
}

export interface EpisodesResult {
  episodes: number;
  succeeded: number;
  calls: number;
  cachedCalls: number;
  /** Trajectories already in the store (a retried activity, a re-run experiment). */
  reused: number;
  /** Episodes that failed for good, with the failure's type (the shard stops on the fatal ones). */
  failed: Array<{ index: number; message: string; type?: string }>;
}

export interface EpisodeSummary {
  id: string;
  reward: number | null;
  finished: boolean;
  steps: number;
  calls: number;
  cachedCalls: number;
  /** True when the trajectory was already in the store (a retried or re-run activity). */
  reused: boolean;
  /** What this run of the episode paid (calls the cache answered cost nothing); set when an allowance was given. */
  paid?: Amount;
}

export interface CurateResult {
  /** What generation spent, summed over every trajectory. */
  usage: Usage;
  curated: ArtifactRef;
  dropped: ArtifactRef;
  report: ArtifactRef;
  total: number;
  kept: number;
  drops: Record<string, number>;
}

export interface DatasetResult {
  name: string;
  records: number;
  byTask: Record<string, number>;
  byMethod: Record<string, number>;
  files: Partial<Record<DatasetFormat, ArtifactRef>>;
}

// Evaluate (activity evaluateModel, child EvaluateModel).

/** Who is evaluated and how it is reached; built by core/eval-plan.ts for the workflow and `plan`. */
export type EvalTarget = EvalPlanTarget;

export interface EvalInput {
  handle: ExperimentHandle;
  target: EvalTarget;
  task: TaskName;
  split: string;
  samplePath: string;
  noise: EvalRow['noise'];
  /** Set by an experiment with a budget: what this evaluation may spend, and what each episode reserves. */
  budget?: { allowance: Cap; perEpisode: Amount };
}

/** The row, and with a budget what the evaluation paid. */
export type EvalOutcome = EvalRow & { paid?: Amount };

/** With a budget: the allowance ran out before every question was answered (those answered are stored). */
export interface EvalStopped {
  stopped: BudgetExhaustedDetails;
}

// Fine-tune, local backend (activity trainLocal).

export interface LocalTrainInput {
  student: StudentConfig;
  datasetName: string;
  /** Absolute paths. */
  datasetPath: string;
  baseDir: string;
  outDir: string;
  /** The experiment's blockedAfterSeconds in ms (read by the worker's blocked check). */
  blockedAfterMs?: number;
}

export interface LocalTrainResult {
  /** The model to serve: the base model directory plus, for LoRA, the adapter directory. */
  baseModel: string;
  adapterDir: string | null;
  modelDir: string;
  steps: number;
  trainLoss: number | null;
  tokensPerSecond: number | null;
  tinyDemoModel: boolean;
}

// Fine-tune, a hosted backend (activities startHostedFineTune, followHostedFineTune, cancelHostedFineTune).

export interface HostedEndpointInput {
  /** Which FINETUNE_JOB_BACKENDS entry runs the job. */
  backend: HostedFineTuneBackendName;
  baseUrl?: string;
  /** Name of the worker environment variable with the key. */
  apiKeyEnv?: string;
  /** The experiment's blockedAfterSeconds in ms (read by the worker's blocked check). */
  blockedAfterMs?: number;
}

export interface StartHostedFineTuneInput extends HostedEndpointInput {
  /** Absolute path of the chat JSONL training file. */
  datasetPath: string;
  /** sha256 (hex) of the file's bytes; checked, and names the upload so it is made once. */
  datasetSha256: string;
  baseModel: string;
  suffix?: string;
  hyperparameters?: FineTuneHyperparameters;
  /** Same key, same job: a retry or a re-run finds the job an earlier attempt created. */
  idempotencyKey: string;
  /** Keys of the same job under earlier key forms, so a run started before a key change finds its job. */
  previousIdempotencyKeys?: string[];
  metadata?: Record<string, string>;
}

export interface StartHostedFineTuneResult {
  jobId: string;
  fileId: string;
  status: FineTuneStatus;
  /** True when the job had been created by an earlier attempt. */
  reusedJob: boolean;
  examples: number;
}

export interface FollowHostedFineTuneInput extends HostedEndpointInput {
  jobId: string;
  /** For messages only. */
  baseModel?: string;
  /** Between status polls (default 10 s). */
  pollMs?: number;
  /** Heartbeat at least this often while waiting (default 3 s). */
  heartbeatEveryMs?: number;
  /** Where to keep the outcome as JSON in the experiment's artifact store. */
  record?: { artifactDir: string; path: string };
}

export interface FollowHostedFineTuneResult extends FineTuneResult {
  record?: ArtifactRef;
}

export interface CancelHostedFineTuneInput extends HostedEndpointInput {
  jobId: string;
  baseModel?: string;
}

/** The input of startOpenAIFineTune, followOpenAIFineTune or cancelOpenAIFineTune, which histories recorded before the hosted path call: backend "openai", unnamed. */
export type LegacyOpenAIInput<I extends HostedEndpointInput> = Omit<I, 'backend'>;

/** The follower's heartbeat details. */
export interface FollowHeartbeat extends FollowCursor {
  jobId: string;
  status?: FineTuneStatus;
  /** The latest event or checkpoint line, for people reading the Temporal UI. */
  last?: string;
}

// Child workflows: FineTuneStudent, GenerateShard.

export interface FineTuneInput {
  handle: ExperimentHandle;
  student: StudentConfig;
  dataset: { name: string; path: string; sha256: string; records: number };
}

export interface FineTuneOutcome {
  student: string;
  dataset: string;
  backend: StudentConfig['backend'];
  baseModel: string;
  tinyDemoModel: boolean;
  /** How evaluation reaches the fine-tuned model: served from folders (local), or at the hosted backend's OpenAI-compatible endpoint. */
  local?: { modelDir: string; adapterDir: string | null; baseModelDir: string };
  openai?: { model: string; baseUrl?: string; apiKeyEnv?: string };
  fineTunedModel: string;
  steps?: number;
  trainLoss?: number;
  tokensPerSecond?: number;
  jobId?: string;
}

export interface ShardInput {
  handle: ExperimentHandle;
  plan: ShardPlan;
  concurrency: number;
  continueAsNewAfterEvents: number;
  /** Episodes per activity (absent in histories recorded before it, and ignored with a budget: one). */
  episodesPerActivity?: number;
  /** Carried across continue-as-new. */
  next?: number;
  totals?: { succeeded: number; failed: number; calls: number; cachedCalls: number; reused: number; run: number };
  /** Set by an experiment with a budget: what this shard may spend, and what each episode reserves before it starts. */
  budget?: { allowance: Cap; perEpisode: Amount };
  /** Where this shard's runs started (past plan.start when resumed after a budget pause). */
  from?: number;
  /** Spent so far by this shard's runs (carried across continue-as-new). */
  spent?: Amount;
}

export interface ShardResult {
  shard: string;
  episodes: number;
  succeeded: number;
  failed: number;
  calls: number;
  cachedCalls: number;
  reused: number;
  runs: number;
  /** With a budget: what the episodes paid, and where the shard stopped when its allowance ran out. */
  spent?: Amount;
  stoppedAt?: number;
  /** An episode needed more than its reservation (the experiment reserves more next time). */
  outgrew?: Amount;
}

// Generation through the Batch API (activities submitBatchRound, batchStatus, applyBatchRound, cancelBatches; child GenerateBatch).

export interface BatchRoundInput {
  handle: ExperimentHandle;
  plan: ShardPlan;
  /** 1-based; names the round's batches. */
  round: number;
  /** The episodes this run drives: plan indexes [from, until). */
  from: number;
  until: number;
  /** Each episode's allowance, with a budget. */
  allowance?: Cap;
  /** Only count where the episodes stand; make no batch (after the stragglers ran synchronously). */
  tallyOnly?: boolean;
}

export interface BatchRef {
  id: string;
  key: string;
  requests: number;
}

export interface BatchRoundResult {
  /** Episodes with a stored trajectory, and what they add up to. */
  finished: number;
  succeeded: number;
  calls: number;
  cachedCalls: number;
  reused: number;
  /** What the episodes that finished in this round paid. */
  paid: Amount;
  /** Open episodes (plan indexes) waiting for an answer. */
  pending: number[];
  /** The first episode that outgrew its allowance (the shard stops there). */
  outgrew?: { index: number; details: BudgetExhaustedDetails };
  /** Distinct requests the open episodes need (equal requests are asked once). */
  requests: number;
  batches: BatchRef[];
  /** The straggler rule fired: the open episodes finish synchronously instead of in a batch. */
  sync: boolean;
}

export interface BatchStatus {
  id: string;
  status: string;
  counts: { total: number; completed: number; failed: number };
  errors: string[];
}

export interface BatchApplyResult {
  answered: number;
  /** Requests without a usable answer (expired, errored, malformed): asked again next round. */
  failed: number;
  reasons: Record<string, number>;
}

export interface BatchShardInput extends ShardInput {
  /** generate.batch's waits, in seconds. */
  poll: { minSeconds: number; maxSeconds: number };
  /** Carried across continue-as-new. */
  round?: number;
  batchTotals?: BatchTotals;
  /** Where a budgeted run stopped driving episodes (carried across continue-as-new). */
  until?: number;
  /** Trajectories already stored when the shard started (carried across continue-as-new). */
  reused?: number;
}

export interface BatchShardResult extends ShardResult {
  batch: BatchTotals;
}

// The experiment workflow.

export interface ExperimentInput {
  /** The experiment config (validated again by prepare; a bad one fails before anything is spent). */
  config: unknown;
  /** Skip the FireActStage search attribute (for namespaces where it is not registered). */
  noSearchAttributes?: boolean;
  /**
   * Read and write the artifacts of this earlier experiment (`fireact resume --new`): finished
   * episodes, trainings and evaluations there are reused. Needs no patch: only activity inputs
   * change, and replay does not compare those; old histories lack it and take the old path.
   */
  artifactsOf?: string;
}

export interface ExperimentResult {
  experiment: string;
  artifactDir: string;
  replayedTeacher: boolean;
  replaySkipped: Record<string, number>;
  questions: number;
  episodes: number;
  generate: { succeeded: number; failed: number; calls: number; cachedCalls: number; batch?: BatchTotals };
  curate: Pick<CurateResult, 'total' | 'kept' | 'drops'> & { curated: CurateResult['curated'] };
  datasets: DatasetResult[];
  students: FineTuneOutcome[];
  evaluation: EvalRow[];
  report: { markdown: string; html: string; summary: string } | null;
  stageSeconds: Record<string, number>;
}
