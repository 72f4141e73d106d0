// `fireact` command line: start | watch | status | list | cancel | validate | plan | score.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ConfigError } from '../core/config';
import { experimentIdProblem, WORKFLOW_TYPE } from '../core/ids';
import { progressQuery } from '../core/progress';
import path from 'node:path';
import type { ExperimentInput, ExperimentResult } from '../workflows/experiment';
import { connect, workflowLink } from './cli/connection';
import { experimentInput, loadCheckedConfig, startExperiment, timestampId, workerWarning } from './cli/start';
import { statusCommand } from './cli/status';
import { planCommand } from './cli/plan';
import { budgetCommand } from './cli/budget';
import { resumeCommand } from './cli/resume';
import { scoreCommand } from './cli/score';
import { shellQuote } from './cli/shell';
import { watch } from './cli/watch';

const USAGE = `usage: fireact <command>
  start <config.yaml|json> [--id ID] [--watch]   start an experiment; prints its id and UI link
  watch <id>                                     live progress until the experiment ends
  status <id>                                    progress and state, once
  list                                           recent experiments
  cancel <id>                                    cancel an experiment
  budget <id> --add <usd> [--tokens N] [--model M]  raise a spending cap; a paused experiment continues
  report <id>                                    where the experiment's report.md, report.html and summary.json are
  validate <config>                              check a config file without starting anything
  plan <config> [--json]                         samples, episodes, calls, tokens and cost, before anything runs
  resume <id> [--reset | --new] [--config F]     continue a failed, cancelled or blocked experiment, reusing finished work
  score --task T --predictions F.jsonl [--split S] [--data-dir D]   score predictions (means, bootstrap 95% CIs)
env: TEMPORAL_ADDRESS (127.0.0.1:7233), TEMPORAL_NAMESPACE (default), FIREACT_UI_URL (http://localhost:8233)`;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (!v || v.startsWith('--')) throw new Error(`${name} needs a value`);
  args.splice(i, 2);
  return v;
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

async function main(argv: string[]): Promise<void> {
  const args = [...argv];
  const cmd = args.shift();
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(USAGE);
    return;
  }
  if (cmd === 'validate') {
    const file = args[0];
    if (!file) throw new Error('validate needs a config file');
    const { config, warnings } = await loadCheckedConfig(file);
    for (const w of warnings) console.error(`warning: ${w}`);
    console.log(`${file}: valid (experiment "${config.name}", ${config.generate.tasks.length} task entries, ${config.datasets.length} dataset mixes)`);
    return;
  }
  if (cmd === 'resume') {
    process.exitCode = await resumeCommand(args);
    return;
  }
  if (cmd === 'plan' || cmd === 'score') {
    process.exitCode = await (cmd === 'plan' ? planCommand : scoreCommand)(args);
    return;
  }
  if (!['start', 'watch', 'status', 'list', 'cancel', 'report', 'budget'].includes(cmd)) throw new Error(`unknown command "${cmd}"\n${USAGE}`);

  // Validate before connecting: a bad config fails at once, naming the field.
  let input: ExperimentInput | undefined;
  let id: string | undefined;
  let follow = false;
  if (cmd === 'start') {
    id = flag(args, '--id');
    // The id names the artifact folder: refuse one that cannot before reading the config or connecting.
    const idProblem = id === undefined ? undefined : experimentIdProblem(id);
    if (idProblem) throw new Error(idProblem);
    follow = args.includes('--watch');
    const file = args.find((a) => !a.startsWith('--'));
    if (!file) throw new Error('start needs a config file; usage: fireact start <config.yaml|json> [--id ID] [--watch]');
    const started = await experimentInput(file);
    id ??= timestampId(started.name);
    input = started.input;
  }

  const { client, connection } = await connect();
  try {
    switch (cmd) {
      case 'start': {
        await refuseExistingId(client, id!);
        try {
          await startExperiment(client, connection, input!, id!);
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError) throw new Error(alreadyExists(id!, 'RUNNING'));
          throw err;
        }
        console.log(`started experiment ${id}`);
        console.log(`  UI:    ${workflowLink(id!)}`);
        console.log(`  watch: npx fireact watch ${shellQuote(id!)}`);
        const warning = await workerWarning(client, input!);
        if (warning) console.log(warning);
        if (follow) await watch(client, id!);
        break;
      }
      case 'watch':
      case 'status': {
        const target = args[0];
        if (!target) throw new Error(`${cmd} needs an experiment id`);
        if (cmd === 'watch') {
          await watch(client, target);
          break;
        }
        await statusCommand(client, target);
        break;
      }
      case 'list': {
        for await (const w of client.workflow.list({ query: `WorkflowType = '${WORKFLOW_TYPE}'` })) {
          console.log(`${w.workflowId.padEnd(40)} ${w.status.name.padEnd(11)} ${w.startTime.toISOString()}`);
        }
        break;
      }
      case 'report': {
        const target = args[0];
        if (!target) throw new Error('report needs an experiment id');
        const handle = client.workflow.getHandle(target);
        const desc = await handle.describe();
        if (desc.status.name !== 'COMPLETED') {
          let stage = '';
          try {
            stage = ` (stage: ${(await handle.query(progressQuery)).stage})`;
          } catch {
            // no progress to show
          }
          throw new Error(`${target} is ${desc.status.name}${stage}; the report is written when the experiment completes`);
        }
        const r = (await handle.result()) as ExperimentResult;
        if (!r.report) throw new Error(`${target} finished without a report`);
        console.log(`report.md:    ${shellQuote(path.join(r.artifactDir, r.report.markdown))}`);
        console.log(`report.html:  ${shellQuote(path.join(r.artifactDir, r.report.html))}`);
        console.log(`summary.json: ${shellQuote(path.join(r.artifactDir, r.report.summary))}`);
        break;
      }
      case 'budget': {
        await budgetCommand(client, args);
        break;
      }
      case 'cancel': {
        const target = args[0];
        if (!target) throw new Error('cancel needs an experiment id');
        await client.workflow.getHandle(target).cancel();
        console.log(`cancellation requested for ${target}`);
        break;
      }
    }
  } finally {
    await connection.close();
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(err.message);
  else if (err instanceof WorkflowNotFoundError) console.error(`no such experiment: ${err.workflowId}`);
  else console.error(`fireact: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
