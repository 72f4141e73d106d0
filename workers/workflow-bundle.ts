// The workflow code as one bundle: built by a worker at start, or beforehand (`npm run
// bundle-workflows`) and named by FIREACT_WORKFLOW_BUNDLE so that workers start without bundling
// (seconds of CPU each start). Kept apart from the worker module so building one loads no activities.
import { statSync } from 'node:fs';
import { bundleWorkflowCode, DefaultLogger, type LogLevel, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

export const WORKFLOWS_PATH = require.resolve('../workflows');

/** The bundle a worker builds at start when given none. */
export function bundleWorkflows(level: LogLevel = 'WARN'): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger(level) });
}

/**
 * FIREACT_WORKFLOW_BUNDLE, checked: a bundle file written beforehand from the code the worker runs.
 * A name that is not a file is an error naming the variable.
 */
export function workflowBundleFromEnv(env: NodeJS.ProcessEnv = process.env): { codePath: string } | undefined {
  const file = env.FIREACT_WORKFLOW_BUNDLE?.trim();
  if (!file) return undefined;
  let isFile = false;
  try {
    isFile = statSync(file).isFile();
  } catch {
    // reported below
  }
  if (!isFile) throw new Error(`FIREACT_WORKFLOW_BUNDLE names ${JSON.stringify(file)}, which is not a file; build one with \`npm run bundle-workflows -- <file>\` or unset it`);
  return { codePath: file };
}
