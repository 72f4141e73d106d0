// `fireact resume <id>`: continue a failed, terminated or cancelled experiment from its last
// completed stage. Two ways, chosen as the README's "Resume" section explains:
// - reset (default): Temporal's workflow reset to the workflow task that began the failed stage.
//   The same experiment id continues on the worker's current code; every finished activity and
//   child of the earlier stages is kept in history, so nothing done before is done again.
// - new run (--new, or --config): a new workflow `<id>-r<N>` with `artifactsOf: <id>`; it reads
//   and writes the original artifact folder, where finished episodes, trainings and evaluations are
//   found and reused, and curation and datasets are recomputed from them (cheap).
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client, type Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { loadConfigFile } from '../../lib/experiment/config-file';
import { resumeBlockedUpdate } from '../../core/blocked';
import { experimentIdProblem, STAGE_SEARCH_ATTRIBUTE } from '../../core/ids';
import { STAGES, type StageName } from '../../core/progress';
import { connect, decodePayloadAt, workflowLink } from './connection';
import { shellQuote } from './shell';
import { startExperiment } from './start';
import type { ExperimentInput } from '../../activities/contracts';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const EventType = temporal.api.enums.v1.EventType;

/** What each stage schedules first; a stage's first such event marks where it began. */
const ACTIVITY_STAGE: Record<string, StageName> = {
  prepareExperiment: 'prepare',
  curate: 'curate',
  buildDatasets: 'build-datasets',
  writeExperimentReport: 'report',
};
const CHILD_STAGE: Record<string, StageName> = { GenerateShard: 'generate', FineTuneStudent: 'fine-tune', EvaluateModel: 'evaluate' };

const num = (v: number | { toString(): string } | null | undefined): number => (typeof v === 'number' ? v : Number(v?.toString() ?? NaN));

function stageOf(e: HistoryEvent): StageName | undefined {
  switch (e.eventType) {
    case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
      return ACTIVITY_STAGE[e.activityTaskScheduledEventAttributes?.activityType?.name ?? ''];
    case EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
      return CHILD_STAGE[e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name ?? ''];
    case EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
      const p = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.[STAGE_SEARCH_ATTRIBUTE];
      if (!p) return undefined;
      const v = defaultPayloadConverter.fromPayload<unknown>(p);
      const name = Array.isArray(v) ? v[0] : v;
      return (STAGES as readonly string[]).includes(name as string) ? (name as StageName) : undefined;
    }
    default:
      return undefined;
  }
}

export interface ResetPoint {
  /** The stage that was running when the experiment ended (the one to redo). */
  stage: StageName;
  /** The WorkflowTaskCompleted event whose commands began that stage: reset to it. */
  eventId: number;
}

/**
 * Where to reset an experiment's history: the workflow task that began its last stage. Stages run
 * in order, so the last stage seen is the one that failed; the events before it (earlier stages'
 * results) are kept by the reset.
 */
export function findResetPoint(events: readonly HistoryEvent[]): ResetPoint | undefined {
  let lastTaskCompleted: number | undefined;
  const began = new Map<StageName, number | undefined>();
  let last: StageName | undefined;
  for (const e of events) {
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) lastTaskCompleted = num(e.eventId);
    const stage = stageOf(e);
    if (!stage) continue;
    if (!began.has(stage)) began.set(stage, lastTaskCompleted);
    last = stage;
  }
  const eventId = last && began.get(last);
  return last && eventId !== undefined ? { stage: last, eventId } : undefined;
}

export interface ResumeOptions {
  /** Force a way; by default reset, or a new run when a config is given or no reset point exists. */
  mode?: 'reset' | 'new';
  /** A changed config for the new run (validated here first). */
  configFile?: string;
}

export interface ResumeOutcome {
  /** unblocked: a running experiment blocked on a stage goes on with the same run. */
  kind: 'reset' | 'new' | 'unblocked';
  /** The workflow that carries on: the same id (reset) or `<id>-r<N>` (new). */
  workflowId: string;
  runId: string;
  /** The original run's status. */
  was: string;
  /** Reset: the stage redone and the event reset to; unblocked: the stage that goes on. */
  stage?: string;
  /** Unblocked: why it was blocked. */
  reason?: string;
  eventId?: number;
}

const RESUMABLE = new Set(['FAILED', 'TERMINATED', 'CANCELLED', 'TIMED_OUT']);

async function nextRunId(client: Client, base: string): Promise<string> {
  for (let n = 1; ; n++) {
    const id = `${base}-r${n}`;
    try {
      await client.workflow.getHandle(id).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return id;
      throw err;
    }
  }
}

/** A running experiment blocked on a stage: the `resumeBlocked` update runs that stage's work again. */
async function unblock(client: Client, id: string): Promise<{ stage: string; reason: string }> {
  try {
    return await client.workflow.getHandle(id).executeUpdate(resumeBlockedUpdate);
  } catch (err) {
    // The validator says why not (not blocked, paused for budget instead).
    if (err instanceof WorkflowUpdateFailedError) throw new Error(`${id} is still running: ${err.cause?.message ?? err.message}; wait for it, or cancel it first (npx fireact cancel ${shellQuote(id)})`);
    throw err;
  }
}

export async function resumeExperiment(client: Client, connection: Connection, id: string, opts: ResumeOptions = {}): Promise<ResumeOutcome> {
  // A bad new config fails before anything is touched.
  const newConfig = opts.configFile ? await loadConfigFile(opts.configFile) : undefined;
  const handle = client.workflow.getHandle(id);
  const desc = await handle.describe();
  const was = desc.status.name;
  const wantNew = opts.mode === 'new' || newConfig !== undefined;
  if (was === 'RUNNING') {
    if (wantNew || opts.mode === 'reset') throw new Error(`${id} is still running; wait for it, or cancel it first (npx fireact cancel ${shellQuote(id)})`);
    return { kind: 'unblocked', workflowId: id, runId: desc.runId, was, ...(await unblock(client, id)) };
  }
  if (!RESUMABLE.has(was) && !(was === 'COMPLETED' && wantNew)) {
    throw new Error(`${id} is ${was}; nothing to resume${was === 'COMPLETED' ? ' (to run it again with a changed config: fireact resume --config FILE)' : ''}`);
  }
  if (opts.mode === 'reset' && newConfig) throw new Error('--reset replays the same config; a changed config needs a new run (drop --reset)');

  const history = await client.workflow.getHandle(id, desc.runId).fetchHistory();
  const events = history.events ?? [];
  const point = findResetPoint(events);

  if (!wantNew) {
    if (!point) {
      if (opts.mode === 'reset') throw new Error(`${id} has no completed workflow task to reset to; resume it as a new run (--new)`);
    } else {
      const request = temporal.api.workflowservice.v1.ResetWorkflowExecutionRequest.fromObject({
        namespace: client.options.namespace,
        workflowExecution: { workflowId: id, runId: desc.runId },
        reason: 'fireact resume',
        workflowTaskFinishEventId: point.eventId,
        requestId: randomUUID(),
      });
      const { runId } = await client.workflowService.resetWorkflowExecution(request);
      return { kind: 'reset', workflowId: id, runId: runId ?? '', was, stage: point.stage, eventId: point.eventId };
    }
  }

  const started = events[0]?.workflowExecutionStartedEventAttributes;
  const original = await decodePayloadAt<ExperimentInput>(client.options.loadedDataConverter, 0, started?.input?.payloads);
  const artifactsOf = original.artifactsOf ?? id;
  const input: ExperimentInput = { config: newConfig ?? original.config, artifactsOf };
  const newId = await nextRunId(client, artifactsOf);
  await startExperiment(client, connection, input, newId);
  const runId = (await client.workflow.getHandle(newId).describe()).runId;
  return { kind: 'new', workflowId: newId, runId, was };
}

/** `fireact resume <id> [--reset | --new] [--config file]`; returns the exit code. */
export async function resumeCommand(id: string, opts: { reset: boolean; new: boolean; config?: string; force: boolean }): Promise<number> {
  const { reset, new: fresh, config: configFile } = opts;
  if (reset && fresh) throw new Error('choose one of --reset and --new');
  // Both ways go on writing the experiment's artifact folder; an id that cannot name one (an experiment
  // of an earlier release, or one started from the Temporal CLI) is refused before connecting. A
  // resumed run `<id>-r<N>` writes the folder of `<id>`, which is what must fit.
  const idProblem = experimentIdProblem(id.replace(/-r\d+$/, '')) ? experimentIdProblem(id) : undefined;
  if (idProblem) throw new Error(idProblem);
  if (configFile) {
    // A changed config gets the checks `start` makes, before anything is touched.
    const { checkConfigFile, printChecks } = await import('./plan');
    const { checks } = await checkConfigFile(configFile);
    printChecks(checks, process.stderr);
    if (checks.problems.length && !opts.force) throw new Error(`${configFile}: not resumed: ${checks.problems.length} problem(s) above; fix them, or resume anyway with --force`);
  }
  const { client, connection } = await connect();
  try {
    const r = await resumeExperiment(client, connection, id, { mode: reset ? 'reset' : fresh ? 'new' : undefined, configFile });
    if (r.kind === 'unblocked') {
      console.log(`resumed ${id}: stage "${r.stage}" runs its blocked work again (finished work is reused); it was blocked by: ${r.reason}`);
    } else if (r.kind === 'reset') {
      console.log(`reset ${id} (${r.was}) to event ${r.eventId}: it redoes stage "${r.stage}" on the current code; earlier stages are kept`);
    } else {
      console.log(`started ${r.workflowId}, resuming ${id} (${r.was}) as a new run in the same artifact folder; finished work is reused`);
    }
    console.log(`  UI:    ${workflowLink(r.workflowId)}`);
    console.log(`  watch: npx fireact watch ${shellQuote(r.workflowId)}`);
    return 0;
  } finally {
    await connection.close();
  }
}
