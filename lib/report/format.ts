// Number and text formatting shared by the Markdown and HTML reports. Deterministic (no locale), so
// the same input always renders to the same bytes.
import type { MetricWithCi } from './types';

export const DASH = '—';

function finite(x: number | undefined | null): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/** A rate in [0, 1] as a percentage with one decimal, without the % sign ("31.2"). */
export function pct(x: number | undefined | null): string {
  return finite(x) ? (x * 100).toFixed(1) : DASH;
}

/** A rate in [0, 1] as "31.2%". */
export function pctSign(x: number | undefined | null): string {
  return finite(x) ? `${pct(x)}%` : DASH;
}

/** A metric as its mean and 95% interval in percentage points: { main: "31.2", ci: "[27.0, 35.5]" }. */
export function metricParts(m: MetricWithCi | undefined): { main: string; ci?: string } {
  if (!m || !finite(m.mean)) return { main: DASH };
  if (!finite(m.lo) || !finite(m.hi)) return { main: pct(m.mean) };
  return { main: pct(m.mean), ci: `[${pct(m.lo)}, ${pct(m.hi)}]` };
}

/** Difference of two rates in percentage points, signed ("+12.5 pp"). */
export function ppDelta(after: number, before: number): string {
  if (!finite(after) || !finite(before)) return DASH;
  const d = (after - before) * 100;
  const s = Math.abs(d).toFixed(1);
  if (s === '0.0') return '0.0 pp';
  return `${d > 0 ? '+' : '−'}${s} pp`;
}

/** An integer with thin groups of three ("1,234,567"). */
export function int(x: number | undefined | null): string {
  if (!finite(x)) return DASH;
  const sign = x < 0 ? '-' : '';
  const digits = Math.round(Math.abs(x)).toString();
  return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function fixed(x: number | undefined | null, decimals: number): string {
  return finite(x) ? x.toFixed(decimals) : DASH;
}

/** Dollars: cents for large sums, more digits for the sub-cent costs of small runs. */
export function usd(x: number | undefined | null): string {
  if (!finite(x)) return DASH;
  if (x === 0) return '$0.00';
  return Math.abs(x) >= 1 ? `$${x.toFixed(2)}` : `$${x.toFixed(4)}`;
}

/** A duration in seconds as "12.3 s", "4 min 05 s" or "2 h 03 min". */
export function duration(seconds: number | undefined | null): string {
  if (!finite(seconds)) return DASH;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  return `${m} min ${String(s).padStart(2, '0')} s`;
}

const TASK_LABELS: Record<string, string> = {
  hotpotqa: 'HotpotQA',
  strategyqa: 'StrategyQA',
  bamboogle: 'Bamboogle',
  mmlu: 'MMLU',
};

export function taskLabel(task: string): string {
  return TASK_LABELS[task] ?? task;
}

const METHOD_LABELS: Record<string, string> = { io: 'IO', cot: 'CoT', react: 'ReAct', reflexion: 'Reflexion' };

export function methodLabel(method: string): string {
  return METHOD_LABELS[method] ?? method;
}

const METRIC_LABELS: Record<string, string> = { em: 'EM', f1: 'F1', accuracy: 'Accuracy' };

export function metricLabel(metric: string): string {
  return METRIC_LABELS[metric] ?? metric;
}

const NOISE_LABELS: Record<string, string> = { none: 'none', empty: 'empty results', random: 'random snippet' };

export function noiseLabel(noise: string): string {
  return NOISE_LABELS[noise] ?? noise;
}

/** Text for HTML element content and attribute values (double- or single-quoted). */
const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * Text for a Markdown table cell or paragraph: backslash-escapes what Markdown would read as markup
 * (emphasis, code, links, HTML, the cell separator, a block marker at the start) and folds line breaks,
 * which would end the row. Underscores inside words are left alone, as Markdown leaves them.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/\r?\n|\r/g, ' ')
    .replace(/[\\`*[\]<>|]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, (c) => `\\${c}`)
    .replace(/^(\s*)(#{1,6}|[-+]|\d+[.)])(?=\s|$)/, (_m, sp: string, marker: string) =>
      /^\d/.test(marker) ? `${sp}${marker.slice(0, -1)}\\${marker.slice(-1)}` : `${sp}\\${marker}`,
    );
}
