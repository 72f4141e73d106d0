// A real Temporal dev server per test file (the CLI built by setup), plus a workflow bundle built
// once (per test run when FIREACT_WORKFLOW_BUNDLE names one, else per process) so each worker starts fast.
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, type WorkflowBundleOption } from '@temporalio/worker';
import { STAGE_SEARCH_KEY } from '../../core/ids';
import { workerLogger } from '../../workers/fireact-worker';
import { bundleWorkflows, workflowBundleFromEnv } from '../../workers/workflow-bundle';

export function temporalBin(): string {
  return process.env.FIREACT_TEMPORAL_BIN ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'fireact', 'bin', 'temporal');
}

let runtimeInstalled = false;
function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: workerLogger('WARN') });
}

export async function startDevServer(opts: { dbFilename?: string; port?: number } = {}): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalBin() },
      searchAttributes: [STAGE_SEARCH_KEY],
      dbFilename: opts.dbFilename,
      port: opts.port,
      ui: false,
    },
  });
}

let bundle: Promise<WorkflowBundleOption> | undefined;
export function workflowBundle(): Promise<WorkflowBundleOption> {
  quietRuntime();
  const prebuilt = workflowBundleFromEnv();
  bundle ??= prebuilt ? Promise.resolve(prebuilt) : bundleWorkflows();
  return bundle;
}

/** A dev server with in-process workers for both task queues, torn down by `stop`. */
export async function startStack(): Promise<{ env: TestWorkflowEnvironment; stop(): Promise<void> }> {
  // Imported here so tests that only need the server do not load the activities.
  const { createFireactWorkers } = await import('../../workers/fireact-worker');
  const env = await startDevServer();
  const workers = await createFireactWorkers({ connection: env.nativeConnection, worker: { workflowBundle: await workflowBundle() } });
  const running = Promise.all(workers.map((w) => w.run()));
  return {
    env,
    async stop() {
      for (const w of workers) w.shutdown();
      await running;
      await env.teardown();
    },
  };
}
