// `npm run demo`: starts the local dev server (left running, SQLite state, Web UI on 8233), hosts a
// worker for the run, starts examples/demo.yaml, shows live progress and prints where the datasets are.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { createFireactWorkers, workerLogger } from '../workers/fireact-worker';
import { connect, workflowLink } from './cli/connection';
import { experimentInput, startExperiment, timestampId } from './cli/start';
import { watch } from './cli/watch';
import { shellQuote } from './cli/shell';

async function main(): Promise<void> {
  const t0 = Date.now();
  const root = path.resolve(__dirname, '..');
  process.chdir(root);
  execFileSync('bash', ['scripts/dev-server.sh', 'start'], { stdio: 'inherit' });

  Runtime.install({
    logger: workerLogger('WARN'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
  });
  const configFile = process.argv[2] ?? 'examples/demo.yaml';
  const { input, name } = await experimentInput(configFile);
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const workerConnection = await NativeConnection.connect({ address });
  const workers = await createFireactWorkers({ connection: workerConnection, namespace: process.env.TEMPORAL_NAMESPACE });
  const running = Promise.all(workers.map((w) => w.run()));

  const { client, connection } = await connect();
  const id = timestampId(name);
  try {
    await startExperiment(client, connection, input, id);
    console.log(`started ${id} from ${configFile}\n  UI: ${workflowLink(id)}\n`);
    const result = await watch(client, id);
    const seconds = (Date.now() - t0) / 1000;
    if (!result) throw new Error(`experiment ${id} did not complete`);
    console.log(`\ndemo finished in ${seconds.toFixed(0)} s (stages: ${Object.entries(result.stageSeconds).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')})`);
    if (result.report) {
      console.log(`report: ${shellQuote(path.join(result.artifactDir, result.report.markdown))}`);
      console.log(`        ${shellQuote(path.join(result.artifactDir, result.report.html))}`);
      console.log(`summary for machines: ${shellQuote(path.join(result.artifactDir, result.report.summary))}`);
    }
    console.log(`the dev server keeps running (npm run dev-server -- stop to end it); start a worker with npm run worker to run more experiments`);
  } finally {
    for (const w of workers) w.shutdown();
    await running;
    await connection.close();
    await workerConnection.close();
  }
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
