// Entry point: `npm run worker` (or `node --import tsx workers/main.ts`).
// Connects to TEMPORAL_ADDRESS (default 127.0.0.1:7233) in TEMPORAL_NAMESPACE (default "default").
import { NativeConnection, Runtime, makeTelemetryFilterString, DefaultLogger } from '@temporalio/worker';
import { createFireactWorker } from './fireact-worker';

async function main(): Promise<void> {
  Runtime.install({
    logger: new DefaultLogger((process.env.FIREACT_LOG_LEVEL as 'INFO' | 'WARN' | undefined) ?? 'INFO'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) } },
  });
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const connection = await NativeConnection.connect({ address });
  const worker = await createFireactWorker({ connection, namespace: process.env.TEMPORAL_NAMESPACE });
  // SIGINT/SIGTERM make the worker finish in-flight tasks and stop (the SDK installs the handlers).
  await worker.run();
  await connection.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`fireact worker failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
