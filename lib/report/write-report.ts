// Writes an experiment's report into the artifact store: report.md and report.html for people,
// summary.json (the same input, versioned) for programs.
import path from 'node:path';
import type { ArtifactRef } from '../../core/artifacts';
import type { ArtifactStore } from '../artifacts/store';
import { renderHtml } from './render-html';
import { renderMarkdown } from './render-markdown';
import type { ReportInput } from './types';

/** Bumped when the shape of summary.json changes, so readers can tell old reports from new. */
const REPORT_SUMMARY_VERSION = 2;

export type ReportSummary = ReportInput & { version: number };

export interface ReportRefs {
  markdown: ArtifactRef;
  html: ArtifactRef;
  summary: ArtifactRef;
}

function reportPaths(experimentDir: string): { markdown: string; html: string; summary: string } {
  const dir = path.posix.join(experimentDir, 'report');
  return { markdown: `${dir}/report.md`, html: `${dir}/report.html`, summary: `${dir}/summary.json` };
}

export async function writeReport(store: ArtifactStore, experimentDir: string, input: ReportInput): Promise<ReportRefs> {
  const paths = reportPaths(experimentDir);
  const summary: ReportSummary = { version: REPORT_SUMMARY_VERSION, ...input };
  // Render both before writing either, so a rendering error leaves no half-written report behind.
  const markdown = renderMarkdown(input);
  const html = renderHtml(input);
  return {
    markdown: await store.writeText(paths.markdown, markdown),
    html: await store.writeText(paths.html, html),
    summary: await store.writeJson(paths.summary, summary),
  };
}
