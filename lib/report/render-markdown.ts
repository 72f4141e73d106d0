// The experiment report as GitHub-flavoured Markdown: the sections of sections.ts as pipe tables, the
// replay and tiny-model warnings as block quotes at the top.
import { escapeMarkdown } from './format';
import { buildReport, type Cell, type ReportTable } from './sections';
import type { ReportInput } from './types';

function cell(c: Cell): string {
  // The interval is our own digits and brackets (no link can form from "[27.0, 35.5]"), so it stays as is.
  return c.ci ? `${escapeMarkdown(c.text)} ${c.ci}` : escapeMarkdown(c.text);
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function table(t: ReportTable): string[] {
  const lines = [row(t.columns.map((c) => escapeMarkdown(c.label))), row(t.columns.map((c) => (c.numeric ? '---:' : '---')))];
  for (const r of t.rows) lines.push(row(r.map(cell)));
  if (t.total) lines.push(row(t.total.map((c) => (c.text === '' ? '' : `**${cell(c)}**`))));
  return lines;
}

export function renderMarkdown(input: ReportInput): string {
  const doc = buildReport(input);
  const out: string[] = [`# ${escapeMarkdown(doc.title)}`, ''];
  if (doc.description) {
    for (const para of doc.description.split(/\n\s*\n/).filter((p) => p.trim().length > 0)) out.push(escapeMarkdown(para.trim()), '');
  }
  for (const [label, value] of doc.facts) out.push(`- **${escapeMarkdown(label)}:** ${escapeMarkdown(value)}`);
  out.push('');
  for (const note of doc.notes) {
    out.push(`> **⚠ ${escapeMarkdown(note.text)}**`);
    if (note.detail) out.push('>', `> ${escapeMarkdown(note.detail)}`);
    out.push('');
  }
  for (const section of doc.sections) {
    out.push(`## ${escapeMarkdown(section.title)}`, '');
    for (const p of section.paragraphs) out.push(escapeMarkdown(p), '');
    for (const t of section.tables) out.push(...table(t), '');
    for (const r of section.remarks ?? []) out.push(escapeMarkdown(r), '');
  }
  return out.join('\n').replace(/\n+$/, '\n');
}
