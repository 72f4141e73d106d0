// Entry point: `npm run worker` (or `node --import tsx workers/main.ts`).
// Connects to TEMPORAL_ADDRESS (default 127.0.0.1:7233) in TEMPORAL_NAMESPACE (default "default") and
// serves the task queues in FIREACT_QUEUES (default "fireact,fireact-gpu").
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime } from '@temporalio/worker';
import { createFireactWorkers } from './fireact-worker';

async function main(): Promise<void> {
  Runtime.install({
    logger: new DefaultLogger((process.env.FIREACT_LOG_LEVEL as 'INFO' | 'WARN' | undefined) ?? 'INFO'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) } },
  });
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const connection = await NativeConnection.connect({ address });
  const queues = process.env.FIREACT_QUEUES?.split(',').map((q) => q.trim()).filter(Boolean);
  const workers = await createFireactWorkers({ connection, namespace: process.env.TEMPORAL_NAMESPACE, queues });
  // SIGINT/SIGTERM make the workers finish in-flight tasks and stop (the SDK installs the handlers).
  await Promise.all(workers.map((w) => w.run()));
  await connection.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`fireact worker failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
