// Text rendering of experiment progress for `status` and `watch`: the workflow's own progress, and
// what the server knows about its pending activities and children (failures, training steps).
import { formatDuration } from '../../core/blocked';
import type { ExperimentProgress } from '../../core/progress';
import { describeBudget } from './budget';
import { noWorkerMessage, type PendingActivity, type ServerView } from './inspect';
import { shellQuote } from './shell';

function bar(done: number, total: number, width = 28): string {
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const full = Math.round(frac * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}

function renderProgress(p: ExperimentProgress): string {
  const pause = p.blocked ? ' (BLOCKED: resume with `npx fireact resume ' + p.experiment + '`)' : p.paused ? ' (PAUSED: budget)' : '';
  const lines = [`experiment ${p.experiment} — stage: ${p.stage}${pause}`];
  if (p.paused) lines.push(`  paused since ${p.paused.since}: ${p.paused.reason}`);
  if (p.blocked) {
    const b = p.blocked;
    lines.push(`  blocked since ${b.pausedAt} in stage ${b.stage}${b.workflowId ? `, ${b.workflowId}` : ''}${b.activity ? `, activity ${b.activity}` : ''}${b.attempt ? ` (attempt ${b.attempt})` : ''}`);
    lines.push(`  last error: ${firstLine(b.lastError)}`);
  }
  for (const [name, s] of Object.entries(p.stages)) {
    const pct = s.total > 0 ? `${Math.floor((100 * s.done) / s.total)}%`.padStart(4) : '    ';
    lines.push(`  ${name.padEnd(15)} ${bar(s.done, s.total)} ${pct} ${String(s.done).padStart(6)}/${String(s.total).padEnd(6)} ${s.status}${s.note ? ` (${s.note})` : ''}`);
  }
  const counts = Object.entries(p.counts).map(([k, v]) => `${k}=${v}`).join(' ');
  if (counts) lines.push(`  ${counts}`);
  if (p.budget) lines.push(`  budget: ${describeBudget(p.budget)}`);
  if (p.artifactRoot) lines.push(`  artifacts: ${shellQuote(p.artifactRoot)}`);
  return lines.join('\n');
}

function firstLine(s: string, max = 400): string {
  const line = s.split('\n').find((l) => l.trim()) ?? s;
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** A training activity's heartbeat (trainer events): step / total, loss, tokens/s, ETA, resumed checkpoint. */
export function trainingLine(d: unknown): string | undefined {
  if (!d || typeof d !== 'object') return undefined;
  const e = d as Record<string, unknown>;
  const step = num(e.step);
  const total = num(e.total_steps);
  if (e.jobId !== undefined) {
    // A hosted backend: the job's status and its latest event.
    return `job ${String(e.jobId)}${e.status ? ` ${String(e.status)}` : ''}${e.lastCheckpointStep ? `, checkpoint at step ${String(e.lastCheckpointStep)}` : ''}${e.last ? `; ${String(e.last)}` : ''}`;
  }
  if (step === undefined || total === undefined) return undefined;
  const parts = [`step ${step}/${total} (${Math.floor((100 * step) / Math.max(total, 1))}%)`];
  const loss = num(e.loss);
  if (loss !== undefined) parts.push(`loss ${loss.toFixed(4)}`);
  const tps = num(e.tokens_per_second);
  if (tps !== undefined) parts.push(`${Math.round(tps).toLocaleString('en-US')} tokens/s`);
  const elapsed = num(e.elapsed);
  const from = num(e.resumedFrom) ?? 0;
  // The trainer's own ETA (from this attempt's pace) when it gives one; else the average over all attempts.
  const eta = num(e.eta_seconds);
  if (eta !== undefined && step < total) parts.push(`ETA ${formatDuration(eta * 1000)}`);
  else if (elapsed !== undefined && step > 0 && step < total) parts.push(`ETA ${formatDuration(((total - step) * elapsed * 1000) / step)}`);
  if (e.resumedFrom !== undefined) parts.push(`resumed from checkpoint ${from}`);
  return parts.join(', ');
}

/** Lines for pending activities worth a look: failing ones (attempt, next try, last error) and training progress. */
export function activityLines(activities: readonly PendingActivity[], now = Date.now(), limit = 6): string[] {
  const failing = activities.filter((a) => a.lastFailure && a.attempt > 1).sort((a, b) => b.attempt - a.attempt);
  const lines: string[] = [];
  for (const a of failing.slice(0, limit)) {
    const of = a.maximumAttempts ? ` of ${a.maximumAttempts}` : '';
    const next = a.nextAttemptAt ? `, next try in ${formatDuration(a.nextAttemptAt.getTime() - now)} (${a.nextAttemptAt.toISOString()})` : a.state === 'started' ? ', running again now' : '';
    lines.push(`  retrying ${a.workflowId} ${a.activityType} #${a.activityId}: attempt ${a.attempt}${of}${next}`);
    lines.push(`    last error${a.lastFailure!.type ? ` (${a.lastFailure!.type})` : ''}: ${firstLine(a.lastFailure!.message)}`);
  }
  if (failing.length > limit) lines.push(`  … and ${failing.length - limit} more activities retrying`);
  for (const a of activities) {
    const t = trainingLine(a.details);
    if (t) lines.push(`  training ${a.workflowId} ${a.activityType}${a.attempt > 1 ? ` (attempt ${a.attempt})` : ''}: ${t}`);
  }
  return lines;
}

/** Status / watch text: the progress when the workflow answered, else what the server knows; then activities and workers. */
export function renderView(v: ServerView, now = Date.now()): string {
  const lines: string[] = [];
  if (v.progress) lines.push(renderProgress(v.progress));
  else {
    lines.push(`experiment ${v.id} — stage: ${v.stage ?? 'unknown'} (from the server; no progress: ${v.progressMissing ?? 'none'})`);
    for (const c of v.children.slice(0, 8)) lines.push(`  running child ${c}`);
    if (v.children.length > 8) lines.push(`  … and ${v.children.length - 8} more children`);
  }
  lines.push(...activityLines(v.activities, now));
  if (v.status === 'RUNNING') {
    const w = noWorkerMessage(v.unpolled);
    if (w) lines.push(`  ${w}`);
  }
  return lines.join('\n');
}
