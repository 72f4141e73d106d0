// Entry point: `npm run worker` (or `node --import tsx workers/main.ts`).
// Connects to TEMPORAL_ADDRESS (default 127.0.0.1:7233) in TEMPORAL_NAMESPACE (default "default") and
// serves the task queues in FIREACT_QUEUES (default "fireact,fireact-gpu"); FIREACT_ACTIVITY_SLOTS sets how
// many activities the API queue runs at once (default 1024); FIREACT_WORKFLOW_BUNDLE names a workflow
// bundle built beforehand (`npm run bundle-workflows`), else the workflows are bundled at start.
import { makeTelemetryFilterString, NativeConnection, Runtime } from '@temporalio/worker';
import { activitySlotsFromEnv, createFireactWorkers, workerLogger } from './fireact-worker';
import { workflowBundleFromEnv } from './workflow-bundle';

async function main(): Promise<void> {
  Runtime.install({
    logger: workerLogger((process.env.FIREACT_LOG_LEVEL as 'INFO' | 'WARN' | undefined) ?? 'INFO'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) } },
  });
  // Settings first: a bad one is named before anything connects.
  let activitySlots: number | undefined;
  let workflowBundle: ReturnType<typeof workflowBundleFromEnv>;
  try {
    activitySlots = activitySlotsFromEnv();
    workflowBundle = workflowBundleFromEnv();
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address });
  } catch (err) {
    // The SDK's transport error is a Rust debug string; name the address and the variable that set it.
    const why = /message: "([^"]+)"/.exec((err as Error).message)?.[1] ?? (err as Error).message;
    throw new UserError(`cannot reach Temporal at ${address} (TEMPORAL_ADDRESS): ${why}. Start the dev server with: npm run dev-server -- start`);
  }
  const queues = process.env.FIREACT_QUEUES?.split(',').map((q) => q.trim()).filter(Boolean);
  const workers = await createFireactWorkers({ connection, namespace: process.env.TEMPORAL_NAMESPACE, queues, activitySlots, worker: workflowBundle && { workflowBundle } });
  // SIGINT/SIGTERM make the workers finish in-flight tasks and stop (the SDK installs the handlers).
  await Promise.all(workers.map((w) => w.run()));
  await connection.close();
}

/** A failure the user can fix from its message alone: printed without a stack. */
class UserError extends Error {}

main().catch((err: unknown) => {
  if (err instanceof UserError) process.stderr.write(`fireact worker: ${err.message}\n`);
  else process.stderr.write(`fireact worker failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
