// Text rendering of experiment progress for `status` and `watch`.
import type { ExperimentProgress } from '../../core/progress';
import { describeBudget } from './budget';
import { shellQuote } from './shell';

function bar(done: number, total: number, width = 28): string {
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const full = Math.round(frac * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}

export function renderProgress(p: ExperimentProgress): string {
  const lines = [`experiment ${p.experiment} — stage: ${p.stage}${p.paused ? ' (PAUSED: budget)' : ''}`];
  if (p.paused) lines.push(`  paused since ${p.paused.since}: ${p.paused.reason}`);
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
