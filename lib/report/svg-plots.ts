// Inline SVG bar charts for the HTML report, drawn by hand so the report needs no script or library:
// horizontal bars (long model names fit as row labels), 95% CI whiskers, a 0–100% axis with grid
// lines, and a legend under the axis. Coordinates are whole pixels at the SVG's natural size, so bars
// render crisp and sit where their attributes say.
import { DASH, escapeHtml as esc, metricLabel, metricParts, methodLabel, noiseLabel, pct, taskLabel } from './format';
import {
  compareKind,
  compareMethod,
  compareNoise,
  compareTask,
  compareText,
  metricNamesOf,
  primaryMetric,
  scoringOf,
  sortEvalRows,
  uniqueSorted,
  type ValidActionPair,
} from './sections';
import type { EvalRow } from './types';

export interface Series {
  key: string;
  label: string;
  color: string;
}

export interface Bar {
  series: Series;
  /** In [0, 1]; null draws no bar (no score). */
  value: number | null;
  lo?: number;
  hi?: number;
  /** Tooltip: the bar's full description. */
  title: string;
  data: Record<string, string>;
}

export interface BarGroup {
  /** Label parts: shown on one line joined by " · " where that fits the label column, else one per line. */
  label: string[];
  bars: Bar[];
}

export interface ChartSpec {
  /** Attributes that identify the plot (data-task, data-plot). */
  attrs: Record<string, string>;
  title: string;
  axisLabel: string;
  groups: BarGroup[];
}

// Okabe–Ito colours: distinguishable with the common colour-vision deficiencies, and in greyscale print.
const NOISE_SERIES: Record<string, Series> = {
  none: { key: 'none', label: 'no tool noise', color: '#0072b2' },
  empty: { key: 'empty', label: 'noise: empty results', color: '#e69f00' },
  random: { key: 'random', label: 'noise: random snippet', color: '#009e73' },
};
const OTHER_SERIES_COLOR = '#cc79a7';
const BEFORE_SERIES: Series = { key: 'before', label: 'base model (before)', color: '#999999' };
const AFTER_SERIES: Series = { key: 'after', label: 'fine-tuned student (after)', color: '#d55e00' };

const LAYOUT = {
  width: 1000,
  titleHeight: 36,
  lineHeight: 14,
  barHeight: 16,
  barGap: 3,
  groupGap: 12,
  rightMargin: 64,
  /** Rough advance of a 12px DejaVu Sans / Helvetica character, for sizing the label column. */
  charWidth: 7,
  minLabelWidth: 80,
  maxLabelWidth: 300,
  axisHeight: 40,
  legendHeight: 30,
};

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}

function finite(x: number | null | undefined): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

function truncate(label: string, maxChars: number): string {
  return label.length <= maxChars ? label : `${label.slice(0, Math.max(1, maxChars - 1))}…`;
}

function attrs(a: Record<string, string | number>): string {
  return Object.entries(a)
    .map(([k, v]) => ` ${k}="${esc(String(v))}"`)
    .join('');
}

function labelLines(label: readonly string[], maxChars: number): string[] {
  const joined = label.join(' · ');
  return joined.length <= maxChars ? [joined] : label.map((l) => truncate(l, maxChars));
}

function barChart(spec: ChartSpec): string {
  const L = LAYOUT;
  const maxChars = Math.floor(L.maxLabelWidth / L.charWidth);
  const lines = spec.groups.map((g) => labelLines(g.label, maxChars));
  const longest = Math.max(0, ...lines.flat().map((l) => l.length));
  const labelWidth = Math.min(L.maxLabelWidth, Math.max(L.minLabelWidth, Math.ceil(longest * L.charWidth)));
  const x0 = labelWidth + 12;
  const plotWidth = L.width - L.rightMargin - x0;
  const xOf = (v: number) => x0 + Math.round(clamp01(v) * plotWidth);

  const top = L.titleHeight;
  const parts: string[] = [];
  let y = top + L.groupGap / 2;
  const used = new Map<string, Series>();

  spec.groups.forEach((group, g) => {
    const barsHeight = group.bars.length * L.barHeight + Math.max(0, group.bars.length - 1) * L.barGap;
    const labelHeight = lines[g].length * L.lineHeight;
    // A group is as tall as its bars or its label, whichever is taller; the bars sit in its middle.
    const groupHeight = Math.max(barsHeight, labelHeight);
    const firstBaseline = y + Math.round((groupHeight - labelHeight) / 2) + L.lineHeight - 3;
    parts.push(
      `<text class="group-label" x="${x0 - 8}" y="${firstBaseline}" text-anchor="end"><title>${esc(group.label.join(' · '))}</title>${lines[g]
        .map((l, i) => `<tspan x="${x0 - 8}" dy="${i === 0 ? 0 : L.lineHeight}">${esc(l)}</tspan>`)
        .join('')}</text>`,
    );
    y += Math.round((groupHeight - barsHeight) / 2);
    for (const bar of group.bars) {
      used.set(bar.series.key, bar.series);
      const value = finite(bar.value) ? clamp01(bar.value) : null;
      const w = value === null ? 0 : xOf(value) - x0;
      parts.push(
        `<rect class="bar"${attrs({ ...bar.data, 'data-series': bar.series.key, 'data-value': value === null ? '' : value.toFixed(4) })} x="${x0}" y="${y}" width="${w}" height="${L.barHeight}" fill="${bar.series.color}"><title>${esc(bar.title)}</title></rect>`,
      );
      const cy = y + L.barHeight / 2;
      let labelX = value === null ? x0 : xOf(value);
      if (finite(bar.lo) && finite(bar.hi)) {
        const lx = xOf(bar.lo);
        const hx = xOf(bar.hi);
        parts.push(
          `<g class="ci" stroke="#222222" stroke-width="1.5"><line x1="${lx}" y1="${cy}" x2="${hx}" y2="${cy}"/><line x1="${lx}" y1="${cy - 5}" x2="${lx}" y2="${cy + 5}"/><line x1="${hx}" y1="${cy - 5}" x2="${hx}" y2="${cy + 5}"/></g>`,
        );
        labelX = Math.max(labelX, hx);
      }
      parts.push(`<text class="value" x="${labelX + 6}" y="${cy + 4}">${value === null ? 'no score' : pct(value)}</text>`);
      y += L.barHeight + L.barGap;
    }
    y += groupHeight - barsHeight - Math.round((groupHeight - barsHeight) / 2) + L.groupGap - L.barGap;
  });
  const bottom = Math.max(y - L.groupGap / 2, top + 20);

  // Grid and axis under the bars: drawn first in the output, so they are listed before the bars.
  const grid: string[] = [];
  for (let t = 0; t <= 100; t += 20) {
    const x = xOf(t / 100) + 0.5;
    grid.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${bottom}" stroke="${t === 0 ? '#666666' : '#e2e2e2'}" stroke-width="1"/>`);
    grid.push(`<text class="tick" x="${x}" y="${bottom + 16}" text-anchor="middle">${t}</text>`);
  }
  grid.push(`<line x1="${x0}" y1="${bottom + 0.5}" x2="${x0 + plotWidth}" y2="${bottom + 0.5}" stroke="#666666" stroke-width="1"/>`);
  grid.push(`<text class="axis-label" x="${x0 + plotWidth / 2}" y="${bottom + 34}" text-anchor="middle">${esc(spec.axisLabel)}</text>`);

  const legendY = bottom + L.axisHeight + 10;
  const legend: string[] = [];
  let lx = x0;
  for (const s of used.values()) {
    legend.push(
      `<rect class="swatch" x="${lx}" y="${legendY}" width="12" height="12" fill="${s.color}"/><text x="${lx + 18}" y="${legendY + 10}">${esc(s.label)}</text>`,
    );
    lx += 18 + Math.ceil(s.label.length * L.charWidth) + 20;
  }
  const height = legendY + L.legendHeight;

  return [
    `<svg class="plot"${attrs(spec.attrs)} xmlns="http://www.w3.org/2000/svg" width="${L.width}" height="${height}" viewBox="0 0 ${L.width} ${height}" role="img" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12" fill="#222222">`,
    `<title>${esc(spec.title)}</title>`,
    `<text class="plot-title" x="0" y="20" font-size="14" font-weight="bold">${esc(spec.title)}</text>`,
    ...grid,
    ...parts,
    ...legend,
    spec.groups.length === 0 ? `<text x="${x0}" y="${top + 14}">nothing to plot</text>` : '',
    '</svg>',
  ]
    .filter((s) => s.length > 0)
    .join('\n');
}

/** The task's primary metric per (model, method[, split]) group, one bar per tool-noise condition. */
function taskPlot(task: string, rows: readonly EvalRow[]): string {
  const taskRows = sortEvalRows(rows.filter((r) => r.task === task));
  const metric = primaryMetric(task, metricNamesOf(taskRows));
  const splits = new Set(taskRows.map((r) => r.split));
  const groups = new Map<string, BarGroup>();
  // Group order: as the results table lists models (teacher, base, students) and methods.
  const ordered = [...taskRows].sort(
    (a, b) =>
      compareKind(a.kind, b.kind) ||
      compareText(a.model, b.model) ||
      compareMethod(a.method, b.method) ||
      compareText(a.split, b.split) ||
      compareNoise(a.noise, b.noise),
  );
  for (const r of ordered) {
    const labelParts = [r.model, [methodLabel(r.method), ...(splits.size > 1 ? [r.split] : [])].join(' · ')];
    const label = labelParts.join(' · ');
    let group = groups.get(label);
    if (!group) {
      group = { label: labelParts, bars: [] };
      groups.set(label, group);
    }
    const m = r.metrics[metric];
    const series = NOISE_SERIES[r.noise] ?? { key: r.noise, label: `noise: ${r.noise}`, color: OTHER_SERIES_COLOR };
    const parts = metricParts(m);
    group.bars.push({
      series,
      value: m && finite(m.mean) ? m.mean : null,
      ...(m && finite(m.lo) && finite(m.hi) ? { lo: m.lo, hi: m.hi } : {}),
      title: `${label}, noise ${noiseLabel(r.noise)}: ${metricLabel(metric)} ${parts.main}${parts.ci ? ` ${parts.ci}` : ''} (n = ${r.n}, scoring ${r.scoring ?? DASH})`,
      data: { 'data-model': r.model, 'data-method': r.method, 'data-noise': r.noise, 'data-split': r.split },
    });
  }
  return barChart({
    attrs: { 'data-task': task, 'data-metric': metric },
    title: `${taskLabel(task)}: ${metricLabel(metric)} by model and method (mean, 95% CI; scoring ${scoringOf(taskRows)})`,
    axisLabel: `${metricLabel(metric)} (%)`,
    groups: [...groups.values()],
  });
}

export function taskPlots(rows: readonly EvalRow[]): Array<{ task: string; svg: string }> {
  const tasks = uniqueSorted(
    rows.map((r) => r.task),
    compareTask,
  );
  return tasks.map((task) => ({ task, svg: taskPlot(task, rows) }));
}

/** Valid-action rate of each base model (before) and its fine-tuned student (after). */
export function validActionPlot(pairs: readonly ValidActionPair[]): string {
  const groups: BarGroup[] = pairs.map(({ student, base }) => {
    const labelParts = [
      student.model,
      [taskLabel(student.task), methodLabel(student.method), ...(student.noise === 'none' ? [] : [`noise ${student.noise}`])].join(' · '),
    ];
    const label = labelParts.join(' · ');
    const data = { 'data-task': student.task, 'data-method': student.method, 'data-noise': student.noise };
    return {
      label: labelParts,
      bars: [
        {
          series: BEFORE_SERIES,
          value: base.validActionRate,
          title: `${base.model} (base) on ${label}: valid actions ${pct(base.validActionRate)}%`,
          data: { ...data, 'data-model': base.model },
        },
        {
          series: AFTER_SERIES,
          value: student.validActionRate,
          title: `${student.model} (fine-tuned) on ${label}: valid actions ${pct(student.validActionRate)}%`,
          data: { ...data, 'data-model': student.model },
        },
      ],
    };
  });
  return barChart({
    attrs: { 'data-plot': 'valid-action' },
    title: 'Valid-action rate before and after fine-tuning',
    axisLabel: 'valid actions (%)',
    groups,
  });
}
