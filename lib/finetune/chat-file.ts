// Checks a chat JSONL training file the way a hosted fine-tuning API will, before anything is uploaded:
// a bad file found here costs nothing, the same file found by the provider costs an upload and a failed job.
import { promises as fs } from 'node:fs';
import { ErrorType, typedFailure } from '../../core/errors';
import { validateChatLine } from '../datasets/formats';

export interface ChatFileProblem {
  /** 1-based line number in the file. */
  line: number;
  problems: string[];
}

export interface ChatFileReport {
  examples: number;
  bytes: number;
  bad: ChatFileProblem[];
}

interface ValidateChatFileOptions {
  /** The provider refuses files with fewer examples than this. */
  minExamples: number;
  /** Who refuses them, for the message ("OpenAI"). */
  service: string;
  /** How many bad lines the failure message names (all are in its details). */
  maxReported?: number;
}

/** Checks file text line by line; never throws. A final newline is allowed, blank lines elsewhere are not. */
export function inspectChatJsonl(text: string): ChatFileReport {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const bad: ChatFileProblem[] = [];
  let examples = 0;
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') {
      bad.push({ line: i + 1, problems: ['blank line'] });
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      bad.push({ line: i + 1, problems: [`not valid JSON (${(err as Error).message})`] });
      return;
    }
    const problems = validateChatLine(value);
    if (problems.length > 0) bad.push({ line: i + 1, problems });
    else examples++;
  });
  return { examples, bytes: Buffer.byteLength(text, 'utf8'), bad };
}

function describe(bad: ChatFileProblem[], maxReported: number): string {
  const shown = bad.slice(0, maxReported).map((b) => `line ${b.line}: ${b.problems.slice(0, 3).join('; ')}`);
  const more = bad.length > maxReported ? `; and ${bad.length - maxReported} more bad lines` : '';
  return shown.join(' | ') + more;
}

/**
 * Reads and checks a chat fine-tuning file. Throws a non-retryable BadDatasetRecord naming the file
 * and its first bad lines, or MissingData when the file cannot be read.
 */
export async function validateChatFile(filePath: string, opts: ValidateChatFileOptions): Promise<ChatFileReport> {
  const { minExamples } = opts;
  const maxReported = opts.maxReported ?? 5;
  let text: string;
  try {
    text = await fs.readFile(filePath, 'utf8');
  } catch (err) {
    throw typedFailure({
      type: ErrorType.MissingData,
      nonRetryable: true,
      message: `cannot read fine-tuning file ${filePath}: ${(err as Error).message}`,
    });
  }
  const report = inspectChatJsonl(text);
  if (report.bad.length > 0) {
    throw typedFailure({
      type: ErrorType.BadDatasetRecord,
      nonRetryable: true,
      message: `fine-tuning file ${filePath} has ${report.bad.length} bad line(s): ${describe(report.bad, maxReported)}`,
      details: [{ file: filePath, bad: report.bad.slice(0, 100), badLines: report.bad.length }],
    });
  }
  if (report.examples < minExamples) {
    throw typedFailure({
      type: ErrorType.BadDatasetRecord,
      nonRetryable: true,
      message: `fine-tuning file ${filePath} has ${report.examples} example(s); ${opts.service} fine-tuning needs at least ${minExamples}`,
      details: [{ file: filePath, examples: report.examples, minExamples }],
    });
  }
  return report;
}
