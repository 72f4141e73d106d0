// The "fireact" worker: hosts the experiment workflows and the CPU/API activities.
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { TASK_QUEUE } from '../core/ids';

export interface FireactWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  deps?: ActivityDeps;
  /** Extra Worker options (e.g. a pre-built workflow bundle in tests). */
  worker?: Partial<WorkerOptions>;
}

export async function createFireactWorker(opts: FireactWorkerOptions): Promise<Worker> {
  const base: WorkerOptions = {
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    activities: createActivities(opts.deps),
    maxConcurrentActivityTaskExecutions: 64,
  };
  if (opts.worker?.workflowBundle) return Worker.create({ ...base, ...opts.worker });
  return Worker.create({ ...base, workflowsPath: require.resolve('../workflows'), ...opts.worker });
}
