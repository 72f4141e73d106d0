// Following an experiment: live progress until it ends, then what it produced: datasets, the
// evaluation headline and where the report is. A cancelled run reads as cancelled.
import path from 'node:path';
import { CancelledFailure, WorkflowFailedError, type Client } from '@temporalio/client';
import { abortableSleep } from '../../lib/models/limiter';
import { primaryMetric } from '../../lib/report/sections';
import type { EvalRow } from '../../lib/report/types';
import { inspectExperiment } from './inspect';
import { renderView } from './render';
import { shellQuote } from './shell';
import type { ExperimentResult } from '../../activities/contracts';

/** The innermost failure's message: "Activity task failed" says where, the cause says why. */
export function rootCause(err: Error): string {
  let e: Error = err;
  while (e.cause instanceof Error) e = e.cause;
  return e.message;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** One line per evaluation row: the task's headline metric with its 95% interval, and the valid-action rate. */
function evaluationHeadline(rows: readonly EvalRow[]): string[] {
  return rows.map((r) => {
    const name = primaryMetric(r.task, Object.keys(r.metrics));
    const m = r.metrics[name];
    const metric = m ? `${name} ${pct(m.mean)} [${pct(m.lo)}, ${pct(m.hi)}]` : 'no metric';
    const noise = r.noise === 'none' ? '' : `, search ${r.noise}`;
    return `  eval ${r.model} (${r.kind}) on ${r.task} ${r.split}, ${r.method}${noise}, n=${r.n}: ${metric}, valid actions ${pct(r.validActionRate)}`;
  });
}

async function describeResult(client: Client, id: string): Promise<ExperimentResult | undefined> {
  const handle = client.workflow.getHandle(id);
  try {
    const r = (await handle.result()) as ExperimentResult;
    console.log(`\nexperiment ${id} completed${r.replayedTeacher ? ' (teacher: replay of the recorded FireAct GPT-4 turns)' : ''}`);
    console.log(`  episodes ${r.episodes}, succeeded ${r.generate.succeeded}, kept after curation ${r.curate.kept}`);
    const b = r.generate.batch;
    if (b) {
      console.log(
        `  Batch API: ${b.batches} batches over ${b.rounds} shard rounds, ${b.requests} requests (${b.failedRequests} asked again)` +
          (b.syncEpisodes ? `, ${b.syncEpisodes} straggler episodes finished synchronously` : ''),
      );
    }
    for (const [reason, n] of Object.entries(r.replaySkipped ?? {})) console.log(`  replay skipped ${n} released record(s): ${reason}`);
    console.log(`  drops: ${Object.entries(r.curate.drops).map(([k, v]) => `${k}=${v}`).join(', ') || 'none'}`);
    for (const d of r.datasets) {
      for (const [fmt, ref] of Object.entries(d.files)) console.log(`  dataset ${d.name} (${fmt}, ${d.records} records): ${shellQuote(path.join(r.artifactDir, ref!.path))}`);
    }
    for (const s of r.students) console.log(`  student ${s.student}@${s.dataset}: ${s.fineTunedModel}${s.steps !== undefined ? ` (${s.steps} steps${s.trainLoss !== undefined ? `, loss ${s.trainLoss.toFixed(4)}` : ''})` : ''}`);
    for (const line of evaluationHeadline(r.evaluation)) console.log(line);
    if (r.report) {
      console.log(`  report: ${shellQuote(path.join(r.artifactDir, r.report.markdown))}`);
      console.log(`          ${shellQuote(path.join(r.artifactDir, r.report.html))}`);
    }
    return r;
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      if (err.cause instanceof CancelledFailure) {
        console.error(`experiment ${id} was cancelled; finished work is kept (continue it with: npx fireact resume ${shellQuote(id)})`);
      } else {
        console.error(`experiment ${id} failed: ${rootCause(err)}`);
      }
      process.exitCode = 1;
      return undefined;
    }
    throw err;
  }
}

export async function watch(client: Client, id: string, everyMs = 1000): Promise<ExperimentResult | undefined> {
  const tty = process.stdout.isTTY;
  let lastText = '';
  let lastLines = 0;
  for (;;) {
    const view = await inspectExperiment(client, id, { queryTimeoutMs: 2000 });
    const text = renderView(view);
    // "next try in 12s" ticks every second: redraw for it on a terminal, but do not log a copy per tick.
    const key = tty ? text : text.replace(/ in [\dhms ]+ \(/g, ' (');
    if (key !== lastText) {
      if (tty && lastLines) process.stdout.write(`\x1b[${lastLines}A\x1b[J`);
      process.stdout.write(text + '\n');
      lastText = key;
      lastLines = text.split('\n').length;
    }
    if (view.status !== 'RUNNING') break;
    await abortableSleep(everyMs);
  }
  return describeResult(client, id);
}
