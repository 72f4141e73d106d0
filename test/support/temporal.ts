// A real Temporal dev server per test file (the CLI built by setup), plus a workflow bundle built
// once per process so each test's worker starts fast.
import os from 'node:os';
import path from 'node:path';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { STAGE_SEARCH_ATTRIBUTE } from '../../core/ids';

export function temporalBin(): string {
  return process.env.FIREACT_TEMPORAL_BIN ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'fireact', 'bin', 'temporal');
}

let runtimeInstalled = false;
function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

export async function startDevServer(opts: { dbFilename?: string; port?: number } = {}): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalBin() },
      searchAttributes: [defineSearchAttributeKey(STAGE_SEARCH_ATTRIBUTE, SearchAttributeType.KEYWORD)],
      dbFilename: opts.dbFilename,
      port: opts.port,
      ui: false,
    },
  });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  quietRuntime();
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: new DefaultLogger('WARN') });
  return bundle;
}
