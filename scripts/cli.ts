// `fireact` command line: start | watch | status | list | cancel | validate.
import path from 'node:path';
import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ConfigError } from '../core/config';
import { TASK_QUEUE, WORKFLOW_TYPE } from '../core/ids';
import { progressQuery, type ExperimentProgress } from '../core/progress';
import { loadConfigFile } from '../activities/experiment/config-file';
import type { ExperimentInput, ExperimentResult } from '../workflows/experiment';
import { connect, ensureStageSearchAttribute, workflowLink } from './cli/connection';
import { renderProgress } from './cli/render';

const USAGE = `usage: fireact <command>
  start <config.yaml|json> [--id ID] [--watch]   start an experiment; prints its id and UI link
  watch <id>                                     live progress until the experiment ends
  status <id>                                    progress and state, once
  list                                           recent experiments
  cancel <id>                                    cancel an experiment
  validate <config>                              check a config file without starting anything
env: TEMPORAL_ADDRESS (127.0.0.1:7233), TEMPORAL_NAMESPACE (default), FIREACT_UI_URL (http://localhost:8233)`;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (!v || v.startsWith('--')) throw new Error(`${name} needs a value`);
  args.splice(i, 2);
  return v;
}

function timestampId(name: string): string {
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${name}-${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
}

async function describeResult(client: Client, id: string): Promise<void> {
  const handle = client.workflow.getHandle(id);
  try {
    const r = (await handle.result()) as ExperimentResult;
    console.log(`\nexperiment ${id} completed${r.replayedTeacher ? ' (teacher: replay of the recorded FireAct GPT-4 turns)' : ''}`);
    console.log(`  episodes ${r.episodes}, succeeded ${r.generate.succeeded}, kept after curation ${r.curate.kept}`);
    console.log(`  drops: ${Object.entries(r.curate.drops).map(([k, v]) => `${k}=${v}`).join(', ') || 'none'}`);
    for (const d of r.datasets) {
      for (const [fmt, ref] of Object.entries(d.files)) console.log(`  dataset ${d.name} (${fmt}, ${d.records} records): ${path.join(r.artifactDir, ref!.path)}`);
    }
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      console.error(`experiment ${id} failed: ${err.cause?.message ?? err.message}`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}

async function watch(client: Client, id: string): Promise<void> {
  const handle = client.workflow.getHandle(id);
  const tty = process.stdout.isTTY;
  let lastText = '';
  let lastLines = 0;
  for (;;) {
    const desc = await handle.describe();
    let text: string;
    try {
      text = renderProgress(await handle.query(progressQuery));
    } catch {
      text = `experiment ${id}: ${desc.status.name}`;
    }
    if (text !== lastText) {
      if (tty && lastLines) process.stdout.write(`\x1b[${lastLines}A\x1b[J`);
      process.stdout.write(text + '\n');
      lastText = text;
      lastLines = text.split('\n').length;
    }
    if (desc.status.name !== 'RUNNING') break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  await describeResult(client, id);
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
    const config = await loadConfigFile(file);
    console.log(`${file}: valid (experiment "${config.name}", ${config.generate.tasks.length} task entries, ${config.datasets.length} dataset mixes)`);
    return;
  }
  if (!['start', 'watch', 'status', 'list', 'cancel'].includes(cmd)) throw new Error(`unknown command "${cmd}"\n${USAGE}`);

  // Validate before connecting: a bad config fails at once, naming the field.
  let input: ExperimentInput | undefined;
  let id: string | undefined;
  let follow = false;
  if (cmd === 'start') {
    id = flag(args, '--id');
    follow = args.includes('--watch');
    const file = args.find((a) => !a.startsWith('--'));
    if (!file) throw new Error('start needs a config file');
    const config = await loadConfigFile(file);
    id ??= timestampId(config.name);
    input = { config };
  }

  const { client, connection } = await connect();
  try {
    switch (cmd) {
      case 'start': {
        input!.noSearchAttributes = !(await ensureStageSearchAttribute(connection));
        await client.workflow.start(WORKFLOW_TYPE, { taskQueue: TASK_QUEUE, workflowId: id!, args: [input!], staticSummary: `FireAct experiment ${id}` });
        console.log(`started experiment ${id}`);
        console.log(`  UI:    ${workflowLink(id!)}`);
        console.log(`  watch: npx fireact watch ${id}`);
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
        const handle = client.workflow.getHandle(target);
        const desc = await handle.describe();
        console.log(`${target}: ${desc.status.name} (started ${desc.startTime.toISOString()})`);
        try {
          console.log(renderProgress((await handle.query(progressQuery)) as ExperimentProgress));
        } catch (err) {
          console.log(`  (no progress: ${(err as Error).message})`);
        }
        console.log(`  UI: ${workflowLink(target)}`);
        break;
      }
      case 'list': {
        for await (const w of client.workflow.list({ query: `WorkflowType = '${WORKFLOW_TYPE}'` })) {
          console.log(`${w.workflowId.padEnd(40)} ${w.status.name.padEnd(11)} ${w.startTime.toISOString()}`);
        }
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
