// The experiment report as one self-contained HTML file: inline CSS, inline SVG plots, no script, font,
// image or link to fetch, so it opens anywhere (and offline) and prints as it shows. Light mode only.
import { escapeHtml as esc } from './format';
import { buildReport, validActionPairs, type Cell, type ReportTable, type Section } from './sections';
import { taskPlots, validActionPlot } from './svg-plots';
import type { ReportInput } from './types';

const CSS = `
:root { color-scheme: light; }
html { background: #ffffff; color: #1a1a1a; }
body { margin: 0; font: 14px/20px "DejaVu Sans", Helvetica, Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 24px; margin: 0 0 6px; }
h2 { font-size: 18px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #d4d4d4; }
p { margin: 6px 0 10px; max-width: 90ch; }
.description { color: #333333; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 12px 0 16px; }
dl.facts dt { font-weight: bold; color: #444444; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.note { border: 2px solid #b45309; border-left-width: 8px; background: #fff7e6; padding: 10px 14px; margin: 12px 0; border-radius: 4px; }
.note strong { display: block; font-size: 15px; color: #7c2d12; }
.note span { display: block; margin-top: 2px; color: #333333; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0 16px; }
th, td { padding: 4px 8px; border-bottom: 1px solid #e4e4e4; text-align: left; vertical-align: top; }
thead th { background: #f2f2f2; border-bottom: 2px solid #c8c8c8; }
td { overflow-wrap: break-word; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafafa; }
tfoot td { font-weight: bold; border-top: 2px solid #c8c8c8; border-bottom: none; }
.ci { display: block; color: #666666; font-size: 11px; white-space: nowrap; }
.muted { color: #999999; }
.remark { color: #555555; font-style: italic; }
figure { margin: 12px 0 24px; }
svg.plot { display: block; max-width: 100%; height: auto; }
svg.plot .value, svg.plot .tick { font-size: 11px; fill: #333333; }
svg.plot .axis-label { fill: #444444; }
footer { margin-top: 40px; color: #666666; font-size: 12px; }
@media print {
  @page { margin: 14mm; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { font-size: 11px; line-height: 1.35; }
  main { max-width: none; padding: 0; }
  table { font-size: 9.5px; }
  th, td { padding: 2px 4px; }
  th.num, td.num { white-space: normal; }
  .ci { font-size: 8.5px; }
  .table-wrap { overflow: visible; }
  tbody tr:nth-child(even) { background: none; }
  h2 { break-after: avoid; }
  tr, figure, .note { break-inside: avoid; }
}
`;

function cell(c: Cell, numeric: boolean, tag: 'td' | 'th' = 'td'): string {
  const classes = [numeric ? 'num' : '', c.muted ? 'muted' : ''].filter(Boolean);
  const cls = classes.length > 0 ? ` class="${classes.join(' ')}"` : '';
  const ci = c.ci ? ` <span class="ci">${esc(c.ci)}</span>` : '';
  return `<${tag}${cls}>${esc(c.text)}${ci}</${tag}>`;
}

function table(t: ReportTable): string {
  const head = `<thead><tr>${t.columns.map((c) => `<th scope="col"${c.numeric ? ' class="num"' : ''}>${esc(c.label)}</th>`).join('')}</tr></thead>`;
  const body = `<tbody>\n${t.rows.map((r) => `<tr>${r.map((c, i) => cell(c, t.columns[i]?.numeric ?? false)).join('')}</tr>`).join('\n')}\n</tbody>`;
  const foot = t.total ? `<tfoot><tr>${t.total.map((c, i) => cell(c, t.columns[i]?.numeric ?? false)).join('')}</tr></tfoot>` : '';
  return `<div class="table-wrap"><table id="${esc(t.id)}">${head}${body}${foot}</table></div>`;
}

function section(s: Section, figuresBefore: string[], figuresAfter: string[]): string {
  return [
    `<section id="section-${esc(s.id)}">`,
    `<h2>${esc(s.title)}</h2>`,
    ...s.paragraphs.map((p) => `<p>${esc(p)}</p>`),
    ...figuresBefore.map((f) => `<figure>${f}</figure>`),
    ...s.tables.map(table),
    ...(s.remarks ?? []).map((r) => `<p class="remark">${esc(r)}</p>`),
    ...figuresAfter.map((f) => `<figure>${f}</figure>`),
    '</section>',
  ].join('\n');
}

export function renderHtml(input: ReportInput): string {
  const doc = buildReport(input);
  const plots = taskPlots(input.evaluation).map((p) => p.svg);
  const { pairs } = validActionPairs(input);
  const vaPlot = validActionPlot(pairs);

  const sections = doc.sections.map((s) => {
    if (s.id === 'results') return section(s, plots, []);
    if (s.id === 'valid-action') return section(s, [], [vaPlot]);
    return section(s, [], []);
  });

  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light">',
    `<title>${esc(doc.title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    '<main>',
    '<header>',
    `<h1>${esc(doc.title)}</h1>`,
    ...(doc.description
      ? doc.description
          .split(/\n\s*\n/)
          .filter((p) => p.trim().length > 0)
          .map((p) => `<p class="description">${esc(p.trim())}</p>`)
      : []),
    `<dl class="facts">${doc.facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`,
    ...doc.notes.map(
      (n) => `<aside class="note note-${n.kind}" role="note"><strong>⚠ ${esc(n.text)}</strong>${n.detail ? `<span>${esc(n.detail)}</span>` : ''}</aside>`,
    ),
    '</header>',
    ...sections,
    `<footer>Generated ${esc(input.generatedAt)} for experiment ${esc(input.experiment)}. The same numbers, machine-readable, are in summary.json beside this file.</footer>`,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
