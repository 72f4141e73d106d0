// Following an experiment: live progress until it ends, then what it produced.
import path from 'node:path';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { progressQuery } from '../../core/progress';
import type { ExperimentResult } from '../../workflows/experiment';
import { renderProgress } from './render';
import { shellQuote } from './shell';

/** The innermost failure's message: "Activity task failed" says where, the cause says why. */
export function rootCause(err: Error): string {
  let e: Error = err;
  while (e.cause instanceof Error) e = e.cause;
  return e.message;
}

export async function describeResult(client: Client, id: string): Promise<ExperimentResult | undefined> {
  const handle = client.workflow.getHandle(id);
  try {
    const r = (await handle.result()) as ExperimentResult;
    console.log(`\nexperiment ${id} completed${r.replayedTeacher ? ' (teacher: replay of the recorded FireAct GPT-4 turns)' : ''}`);
    console.log(`  episodes ${r.episodes}, succeeded ${r.generate.succeeded}, kept after curation ${r.curate.kept}`);
    for (const [reason, n] of Object.entries(r.replaySkipped ?? {})) console.log(`  replay skipped ${n} released record(s): ${reason}`);
    console.log(`  drops: ${Object.entries(r.curate.drops).map(([k, v]) => `${k}=${v}`).join(', ') || 'none'}`);
    for (const d of r.datasets) {
      for (const [fmt, ref] of Object.entries(d.files)) console.log(`  dataset ${d.name} (${fmt}, ${d.records} records): ${shellQuote(path.join(r.artifactDir, ref!.path))}`);
    }
    return r;
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      console.error(`experiment ${id} failed: ${rootCause(err)}`);
      process.exitCode = 1;
      return undefined;
    }
    throw err;
  }
}

export async function watch(client: Client, id: string): Promise<ExperimentResult | undefined> {
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
  return describeResult(client, id);
}

