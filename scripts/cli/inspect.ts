// What the Temporal server knows about an experiment, without a worker: its status and FireActStage,
// the pending activities of the experiment and its running children (attempt, last failure, next
// try, heartbeat details such as training steps), and whether any worker polls the task queues it
// needs. The `progress` query is asked with a short deadline and only when a worker polls, so
// `status` never waits on a query that nobody can answer.
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { GPU_TASK_QUEUE, STAGE_SEARCH_KEY, TASK_QUEUE } from '../../core/ids';
import { progressQuery, type ExperimentProgress } from '../../core/progress';
import { decodePayloadAt, timestampToDate } from './connection';

type Failure = temporal.api.failure.v1.IFailure;
const { PendingActivityState, TaskQueueType, TaskQueueKind } = temporal.api.enums.v1;

/** Activities that run on the GPU queue, for servers that do not report an activity's queue. */
const GPU_ACTIVITIES = new Set(['trainLocal']);
/** A live worker re-polls within about a minute; older poller entries are workers gone. */
const POLLER_FRESH_MS = 90_000;
/** At most this many running children are described (a wide generate stage has many shards). */
const MAX_CHILDREN = 16;

export interface PendingActivity {
  /** The workflow it belongs to (the experiment or one of its children). */
  workflowId: string;
  activityId: string;
  activityType: string;
  state: 'scheduled' | 'started' | 'cancel requested' | 'paused';
  attempt: number;
  maximumAttempts: number;
  lastFailure?: { message: string; type?: string };
  nextAttemptAt?: Date;
  lastHeartbeatAt?: Date;
  taskQueue: string;
  details?: unknown;
}

export interface QueueCheck {
  queue: string;
  kind: 'workflow' | 'activity';
  polled: boolean;
}

export interface ServerView {
  id: string;
  status: string;
  startTime: Date;
  closeTime?: Date;
  /** The FireActStage search attribute. */
  stage?: string;
  children: string[];
  activities: PendingActivity[];
  /** Queues the run needs now that no worker polls. */
  unpolled: QueueCheck[];
  progress?: ExperimentProgress;
  /** Why there is no progress (no worker, query timed out, ...). */
  progressMissing?: string;
}

function failureOf(f: Failure | null | undefined): PendingActivity['lastFailure'] {
  if (!f) return undefined;
  return { message: f.message ?? '', type: f.applicationFailureInfo?.type ?? undefined };
}

function stateOf(s: temporal.api.enums.v1.PendingActivityState | null | undefined, paused: boolean | null | undefined): PendingActivity['state'] {
  if (paused || s === PendingActivityState.PENDING_ACTIVITY_STATE_PAUSED) return 'paused';
  if (s === PendingActivityState.PENDING_ACTIVITY_STATE_STARTED) return 'started';
  if (s === PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED) return 'cancel requested';
  return 'scheduled';
}

async function activitiesOf(client: Client, workflowId: string, pending: temporal.api.workflow.v1.IPendingActivityInfo[]): Promise<PendingActivity[]> {
  return Promise.all(
    pending.map(async (a) => {
      const type = a.activityType?.name ?? '?';
      let details: unknown;
      try {
        details = a.heartbeatDetails?.payloads?.length ? await decodePayloadAt(client.options.loadedDataConverter, 0, a.heartbeatDetails.payloads) : undefined;
      } catch {
        details = undefined; // encrypted with a key this CLI lacks
      }
      return {
        workflowId,
        activityId: a.activityId ?? '',
        activityType: type,
        state: stateOf(a.state, a.paused),
        attempt: a.attempt ?? 1,
        maximumAttempts: a.maximumAttempts ?? 0,
        lastFailure: failureOf(a.lastFailure),
        nextAttemptAt: timestampToDate(a.nextAttemptScheduleTime),
        lastHeartbeatAt: timestampToDate(a.lastHeartbeatTime),
        taskQueue: a.activityOptions?.taskQueue?.name || (GPU_ACTIVITIES.has(type) ? GPU_TASK_QUEUE : TASK_QUEUE),
        details,
      };
    }),
  );
}

/** True when a worker has polled the queue for this kind of task within the last minute and a half. */
async function isPolled(client: Client, queue: string, kind: QueueCheck['kind'], now = Date.now()): Promise<boolean> {
  const r = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: queue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: kind === 'workflow' ? TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW : TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  return (r.pollers ?? []).some((p) => {
    const at = timestampToDate(p.lastAccessTime);
    return !at || now - at.getTime() < POLLER_FRESH_MS;
  });
}

/** The queues (and kinds) that no worker polls, of those given. */
export async function unpolledQueues(client: Client, needed: Array<Omit<QueueCheck, 'polled'>>): Promise<QueueCheck[]> {
  const checks = await Promise.all(needed.map(async (q) => ({ ...q, polled: await isPolled(client, q.queue, q.kind) })));
  return checks.filter((c) => !c.polled);
}

/** How to start a worker for the queues nobody polls. */
export function noWorkerMessage(unpolled: QueueCheck[]): string | undefined {
  const queues = [...new Set(unpolled.map((q) => q.queue))];
  if (!queues.length) return undefined;
  const names = queues.map((q) => `"${q}"`).join(' and ');
  const what = queues.length > 1 ? 'task queues' : 'task queue';
  return `no worker polls ${what} ${names}: start one with \`npm run worker\` (both queues), or \`FIREACT_QUEUES=${queues.join(',')} npm run worker\``;
}

export async function inspectExperiment(client: Client, id: string, opts: { queryTimeoutMs?: number; checkWorkers?: boolean } = {}): Promise<ServerView> {
  const handle = client.workflow.getHandle(id);
  const desc = await handle.describe();
  const running = desc.status.name === 'RUNNING';
  const children = running ? (desc.raw.pendingChildren ?? []).map((c) => c.workflowId ?? '').filter(Boolean) : [];
  const activities = running ? await activitiesOf(client, id, desc.raw.pendingActivities ?? []) : [];
  if (running) {
    const described = await Promise.all(
      children.slice(0, MAX_CHILDREN).map((c) =>
        client.workflow
          .getHandle(c)
          .describe()
          .then((d) => (d.status.name === 'RUNNING' ? activitiesOf(client, c, d.raw.pendingActivities ?? []) : []))
          .catch(() => [] as PendingActivity[]),
      ),
    );
    for (const a of described) activities.push(...a);
  }
  const view: ServerView = {
    id,
    status: desc.status.name,
    startTime: desc.startTime,
    closeTime: desc.closeTime,
    stage: desc.typedSearchAttributes.get(STAGE_SEARCH_KEY),
    children,
    activities,
    unpolled: [],
  };
  // Workflow tasks (and the query) need a "fireact" worker; activities need their own queue's.
  const needed: Array<Omit<QueueCheck, 'polled'>> = [{ queue: TASK_QUEUE, kind: 'workflow' }];
  if (running) {
    for (const q of new Set(activities.filter((a) => a.state === 'scheduled').map((a) => a.taskQueue))) needed.push({ queue: q, kind: 'activity' });
  }
  if (opts.checkWorkers !== false) view.unpolled = await unpolledQueues(client, needed);
  if (view.unpolled.some((q) => q.kind === 'workflow')) {
    view.progressMissing = `no worker polls "${TASK_QUEUE}" to answer the progress query`;
    return view;
  }
  const timeout = opts.queryTimeoutMs ?? 3000;
  try {
    view.progress = await client.connection.withDeadline(Date.now() + timeout, () => handle.query(progressQuery));
  } catch (err) {
    view.progressMissing = /deadline|timeout|timed out/i.test((err as Error).message) ? `the progress query got no answer within ${timeout / 1000}s` : (err as Error).message;
  }
  return view;
}
