// Workers for the two task queues: "fireact" hosts the workflows and the CPU/API activities;
// "fireact-gpu" hosts the activities that need the accelerator (training, serving local models).
// One process can run both (the default), or GPU machines run only "fireact-gpu".
import type { PayloadCodec } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Worker, type LogLevel, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { GPU_TASK_QUEUE, TASK_QUEUE } from '../core/ids';
import { blockedInterceptor } from './blocked-interceptor';
import { payloadCodecsFromEnv } from './payload-codec';
import { WORKFLOWS_PATH } from './workflow-bundle';

export interface FireactWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  deps?: ActivityDeps;
  /** Extra Worker options (e.g. a pre-built workflow bundle in tests). */
  worker?: Partial<WorkerOptions>;
  /** Payload encryption; default from FIREACT_PAYLOAD_KEY (none when unset). Clients need the same codec. */
  payloadCodecs?: PayloadCodec[];
  /** Activities run at once on the "fireact" queue; default from FIREACT_ACTIVITY_SLOTS, else DEFAULT_ACTIVITY_SLOTS. */
  activitySlots?: number;
}

/**
 * Episodes wait on the network, not the CPU, so the API queue takes more at once than generation's
 * derived parallelism (the teacher's 512-request ceiling, rounded up to whole shards) ever asks for.
 */
export const DEFAULT_ACTIVITY_SLOTS = 1024;
/** Training and serving hold a GPU each. */
const DEFAULT_GPU_ACTIVITY_SLOTS = 4;

/** FIREACT_ACTIVITY_SLOTS, checked: a bad value is an error naming it, not a silent default. */
export function activitySlotsFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.FIREACT_ACTIVITY_SLOTS?.trim();
  if (!raw) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new Error(`FIREACT_ACTIVITY_SLOTS must be a positive integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

export async function createFireactWorker(opts: FireactWorkerOptions): Promise<Worker> {
  const taskQueue = opts.taskQueue ?? TASK_QUEUE;
  const payloadCodecs = opts.payloadCodecs ?? payloadCodecsFromEnv(process.env);
  const base: WorkerOptions = {
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue,
    activities: createActivities(opts.deps),
    maxConcurrentActivityTaskExecutions: taskQueue === GPU_TASK_QUEUE ? DEFAULT_GPU_ACTIVITY_SLOTS : (opts.activitySlots ?? activitySlotsFromEnv() ?? DEFAULT_ACTIVITY_SLOTS),
    // Cancellation reaches an activity with a heartbeat reply; without this, long-job heartbeats are
    // sent as rarely as once a minute and a cancelled fine-tune or trainer would run on that long.
    maxHeartbeatThrottleInterval: '5 seconds',
    defaultHeartbeatThrottleInterval: '5 seconds',
    // An activity failing with no progress past the experiment's blockedAfterSeconds pauses its stage.
    interceptors: { activity: [blockedInterceptor] },
    ...(payloadCodecs.length ? { dataConverter: { payloadCodecs } } : {}),
  };
  if (taskQueue === GPU_TASK_QUEUE) {
    const { workflowBundle: _bundle, ...rest } = opts.worker ?? {};
    return Worker.create({ ...base, ...rest });
  }
  if (opts.worker?.workflowBundle) return Worker.create({ ...base, ...opts.worker });
  return Worker.create({ ...base, workflowsPath: WORKFLOWS_PATH, ...opts.worker });
}

/** Both queues' workers in this process; run them with Promise.all(workers.map((w) => w.run())). */
export async function createFireactWorkers(opts: Omit<FireactWorkerOptions, 'taskQueue'> & { queues?: string[] }): Promise<Worker[]> {
  const queues = opts.queues ?? [TASK_QUEUE, GPU_TASK_QUEUE];
  return Promise.all(queues.map((taskQueue) => createFireactWorker({ ...opts, taskQueue })));
}

/**
 * The SDK's console logger, less one line: a "fireact-gpu" worker hosts activities only, and the
 * SDK's warning that it registers no workflows says nothing a user should act on.
 */
export function workerLogger(level: LogLevel = 'INFO'): DefaultLogger {
  const console = new DefaultLogger(level);
  return new DefaultLogger(level, (entry) => {
    if (entry.message.startsWith('No workflows registered')) return;
    console.log(entry.level, entry.message, entry.meta);
  });
}
