// The commands that talk to Temporal about experiments: start, watch, status, list, cancel, report.
import path from 'node:path';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client, type Connection } from '@temporalio/client';
import { experimentIdProblem, WORKFLOW_TYPE } from '../../core/ids';
import { progressQuery } from '../../core/progress';
import { connect, workflowLink } from './connection';
import { shellQuote } from './shell';
import { startExperiment, timestampId, workerWarning } from './start';
import { statusCommand as showStatus } from './status';
import { watch } from './watch';
import type { ExperimentResult } from '../../activities/contracts';

async function withClient<T>(fn: (client: Client, connection: Connection) => Promise<T>): Promise<T> {
  const { client, connection } = await connect();
  try {
    return await fn(client, connection);
  } finally {
    await connection.close();
  }
}

const alreadyExists = (id: string, status: string) =>
  `experiment ${id} already exists (${status}); pick another --id, or follow it with: npx fireact watch ${shellQuote(id)}`;

/** An id names one experiment: starting it again (even after it ended) would mix two runs' artifacts. */
async function refuseExistingId(client: Client, id: string): Promise<void> {
  let status: string;
  try {
    status = (await client.workflow.getHandle(id).describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return;
    throw err;
  }
  throw new Error(alreadyExists(id, status));
}

/** The experiment's status, or a clear error when it is not running (for commands that need it running). */
export async function requireRunning(client: Client, id: string, what: string): Promise<void> {
  const status = (await client.workflow.getHandle(id).describe()).status.name;
  if (status !== 'RUNNING') throw new Error(`experiment ${id} is ${status}; ${what}`);
}

export async function startCommand(file: string, opts: { id?: string; watch: boolean; force: boolean }): Promise<number> {
  // The id names the artifact folder: refuse one that cannot before reading the config or connecting.
  const idProblem = opts.id === undefined ? undefined : experimentIdProblem(opts.id);
  if (idProblem) throw new Error(idProblem);
  // Check before connecting: a bad config fails at once, naming the field, and nothing is started.
  // (The checks' modules load only here: status, list and the rest do not need them.)
  const { checkConfigFile, printChecks } = await import('./plan');
  const checked = await checkConfigFile(file);
  printChecks(checked.checks, process.stderr);
  if (checked.checks.problems.length && !opts.force) {
    throw new Error(`${file}: not started: ${checked.checks.problems.length} problem(s) above; fix them, or start anyway with --force`);
  }
  const id = opts.id ?? timestampId(checked.config.name);
  return withClient(async (client, connection) => {
    await refuseExistingId(client, id);
    try {
      await startExperiment(client, connection, { config: checked.config }, id);
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new Error(alreadyExists(id, 'RUNNING'));
      throw err;
    }
    console.log(`started experiment ${id}`);
    console.log(`  UI:    ${workflowLink(id)}`);
    console.log(`  watch: npx fireact watch ${shellQuote(id)}`);
    const warning = await workerWarning(client, { config: checked.config });
    if (warning) console.log(warning);
    if (opts.watch) return (await watch(client, id)) ? 0 : 1;
    return 0;
  });
}

export async function watchCommand(id: string): Promise<number> {
  return withClient(async (client) => ((await watch(client, id)) ? 0 : 1));
}

export async function statusCommand(id: string): Promise<number> {
  return withClient(async (client) => {
    await showStatus(client, id);
    return 0;
  });
}

export async function listCommand(): Promise<number> {
  return withClient(async (client) => {
    for await (const w of client.workflow.list({ query: `WorkflowType = '${WORKFLOW_TYPE}'` })) {
      console.log(`${w.workflowId.padEnd(40)} ${w.status.name.padEnd(11)} ${w.startTime.toISOString()}`);
    }
    return 0;
  });
}

export async function reportCommand(id: string): Promise<number> {
  return withClient(async (client) => {
    const handle = client.workflow.getHandle(id);
    const desc = await handle.describe();
    if (desc.status.name !== 'COMPLETED') {
      let stage = '';
      try {
        stage = ` (stage: ${(await handle.query(progressQuery)).stage})`;
      } catch {
        // no progress to show
      }
      throw new Error(`${id} is ${desc.status.name}${stage}; the report is written when the experiment completes`);
    }
    const r = (await handle.result()) as ExperimentResult;
    if (!r.report) throw new Error(`${id} finished without a report`);
    console.log(`report.md:    ${shellQuote(path.join(r.artifactDir, r.report.markdown))}`);
    console.log(`report.html:  ${shellQuote(path.join(r.artifactDir, r.report.html))}`);
    console.log(`summary.json: ${shellQuote(path.join(r.artifactDir, r.report.summary))}`);
    return 0;
  });
}

export async function cancelCommand(id: string): Promise<number> {
  return withClient(async (client) => {
    // Cancelling an ended workflow is accepted by the server and does nothing: say so instead.
    await requireRunning(client, id, 'there is nothing to cancel');
    await client.workflow.getHandle(id).cancel();
    console.log(`cancellation requested for ${id}`);
    return 0;
  });
}
