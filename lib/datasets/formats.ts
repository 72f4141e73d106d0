// The two fine-tuning formats FireAct released (OpenAI chat JSONL and Alpaca JSON), built from trajectory
// records. The rules reproduce the released files byte for byte (see test/unit/datasets.test.ts), with one
// known exception: released hotpotqa.jsonl kept trailing spaces after 26 questions that the other three
// chat files strip; we strip both ends, as those do.
import { isSingleTurn } from '../../core/methods';
import { OBSERVATION_PREFIX, type TrajectoryRecord, type Turn } from '../../core/trajectory';
import { pythonJsonDumps } from './python-json';

export interface ChatLineMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatLine {
  messages: ChatLineMessage[];
}

export interface AlpacaRecord {
  instruction: string;
  input: string;
  output: string;
}

/** What a record must hold to be formatted (a whole TrajectoryRecord will do). */
export type FormattableRecord = Pick<TrajectoryRecord, 'method' | 'turns'> & { question: Pick<TrajectoryRecord['question'], 'text'> };


/** A turn as the model sees it: assistant text as is, observations behind "Observation: ". */
function renderTurn(turn: Turn): string {
  return turn.role === 'assistant' ? turn.content : OBSERVATION_PREFIX + turn.content;
}

/** The turns as one text, one turn per line group (the Alpaca output body). */
export function renderTurns(turns: readonly Turn[]): string {
  return turns.map(renderTurn).join('\n');
}

// Python's str.strip() whitespace (the released files were made with it); differs from JS trim()
// on \x1c-\x1f and \x85 (Python strips them) and \ufeff (Python keeps it).
const PY_WS = '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_STRIP = new RegExp(`^[${PY_WS}]+|[${PY_WS}]+$`, 'g');

export function pythonStrip(s: string): string {
  return s.replace(PY_STRIP, '');
}

export function toChatLine(record: FormattableRecord): ChatLine {
  const messages: ChatLineMessage[] = [{ role: 'user', content: pythonStrip(record.question.text) }];
  for (const turn of record.turns) {
    messages.push(turn.role === 'assistant' ? { role: 'assistant', content: turn.content } : { role: 'user', content: renderTurn(turn) });
  }
  return { messages };
}

/** One line of the OpenAI chat JSONL, without its newline, as Python's json.dumps wrote it. */
export function toOpenAIChatLine(record: FormattableRecord): string {
  return pythonJsonDumps(toChatLine(record));
}

/**
 * Splits a multiple-choice question into its stem and its choice lines. The block starts at the first
 * line "A. ..." directly followed by "B. ", "C. " and "D. " lines and runs to the end of the text.
 * Both parts are raw (untrimmed); choices is empty when there is no block.
 */
export function splitChoices(text: string): { stem: string; choices: string[] } {
  const lines = text.split('\n');
  for (let i = 0; i + 3 < lines.length; i++) {
    if (/^A\. /.test(lines[i]) && /^B\. /.test(lines[i + 1]) && /^C\. /.test(lines[i + 2]) && /^D\. /.test(lines[i + 3])) {
      return { stem: lines.slice(0, i).join('\n'), choices: lines.slice(i) };
    }
  }
  return { stem: text, choices: [] };
}

/**
 * Where FireAct's Alpaca records cut a question: the instruction is the stem before an A-D choice block,
 * or, without one, the first line; the lines after the cut open the output. Every released record
 * follows this (MMLU stems there are one line; three StrategyQA prompts carry a second line, which the
 * release put in the output). Keeping a multi-line MMLU stem whole keeps question text out of the
 * trained output. Both parts are raw.
 */
export function splitInstruction(text: string): { instruction: string; outputLines: string[] } {
  const { stem, choices } = splitChoices(text);
  if (choices.length > 0) return { instruction: stem, outputLines: choices };
  const [first, ...rest] = text.split('\n');
  return { instruction: first, outputLines: rest };
}

export function toAlpacaRecord(record: FormattableRecord): AlpacaRecord {
  const { instruction, outputLines } = splitInstruction(record.question.text);
  const head = outputLines.map((line) => line + '\n').join('');
  // FireAct wrote a single-turn method's Alpaca output without a final newline.
  const tail = isSingleTurn(record.method) ? '' : '\n';
  return { instruction, input: '', output: head + renderTurns(record.turns) + tail };
}

/** The whole Alpaca file, as Python's json.dump(records, f, indent=4) wrote it (no final newline). */
export function toAlpacaJson(records: readonly AlpacaRecord[]): string {
  return pythonJsonDumps(records.map((r) => ({ instruction: r.instruction, input: r.input, output: r.output })), { indent: 4 });
}

// ---------------------------------------------------------------------------------------------
// Validation: what a fine-tuning backend will accept. Returns problems as "path: message" strings.

const CHAT_ROLES = new Set(['system', 'user', 'assistant']);
// OpenAI's chat fine-tuning format also allows these per message; we never write them but accept them.
const OPTIONAL_MESSAGE_KEYS = new Set(['name', 'weight']);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks one chat fine-tuning example: a messages array; roles system/user/assistant; system messages
 * only before the first user message; then user and assistant alternating, starting with user;
 * non-empty string contents; at least one assistant message (the only thing trained on).
 */
export function validateChatLine(obj: unknown): string[] {
  if (!isPlainObject(obj)) return ['(root): not a JSON object'];
  const problems: string[] = [];
  for (const key of Object.keys(obj)) if (key !== 'messages') problems.push(`${key}: unexpected key`);
  const messages = obj.messages;
  if (!Array.isArray(messages)) return [...problems, 'messages: not an array'];
  if (messages.length === 0) return [...problems, 'messages: empty'];

  let expected: 'user' | 'assistant' = 'user';
  let seenNonSystem = false;
  let assistants = 0;
  messages.forEach((m: unknown, i) => {
    const at = `messages[${i}]`;
    if (!isPlainObject(m)) {
      problems.push(`${at}: not an object`);
      return;
    }
    for (const key of Object.keys(m)) {
      if (key !== 'role' && key !== 'content' && !OPTIONAL_MESSAGE_KEYS.has(key)) problems.push(`${at}.${key}: unexpected key`);
    }
    if (typeof m.content !== 'string') problems.push(`${at}.content: not a string`);
    else if (m.content.trim() === '') problems.push(`${at}.content: empty`);
    const role = m.role;
    if (typeof role !== 'string' || !CHAT_ROLES.has(role)) {
      problems.push(`${at}.role: must be system, user or assistant, got ${JSON.stringify(role)}`);
      return;
    }
    if (role === 'system') {
      if (seenNonSystem) problems.push(`${at}.role: system message after the conversation started`);
      return;
    }
    if (!seenNonSystem && role !== 'user') problems.push(`${at}.role: the first non-system message must be from the user`);
    else if (seenNonSystem && role !== expected) problems.push(`${at}.role: expected ${expected} (user and assistant must alternate)`);
    seenNonSystem = true;
    if (role === 'assistant') assistants++;
    expected = role === 'user' ? 'assistant' : 'user';
  });
  if (assistants === 0) problems.push('messages: no assistant message to train on');
  return problems;
}

/** Checks one Alpaca record: exactly instruction/input/output strings, non-empty instruction and output. */
export function validateAlpacaRecord(obj: unknown): string[] {
  if (!isPlainObject(obj)) return ['(root): not a JSON object'];
  const problems: string[] = [];
  for (const key of Object.keys(obj)) {
    if (key !== 'instruction' && key !== 'input' && key !== 'output') problems.push(`${key}: unexpected key`);
  }
  for (const key of ['instruction', 'input', 'output'] as const) {
    if (typeof obj[key] !== 'string') problems.push(`${key}: not a string`);
  }
  if (typeof obj.instruction === 'string' && obj.instruction.trim() === '') problems.push('instruction: empty');
  if (typeof obj.output === 'string' && obj.output.trim() === '') problems.push('output: empty');
  return problems;
}
