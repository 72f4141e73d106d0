// Reads the FireAct fine-tuning files into replayable recordings: per (task, method, question) the
// teacher's assistant turns and the observations it saw. The files carry no task or method labels,
// so both are inferred (see classify*), and records that cannot be replayed are counted with a reason.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { MethodName, TaskName } from '../../core/config';
import { ErrorType, typedFailure } from '../../core/errors';
import { OBSERVATION_PREFIX } from '../../core/trajectory';
import { parseAction } from '../agent/actions';
import { splitChoices } from '../datasets/formats';

/** The released files; the ReAct-only ones also tell ReAct and CoT apart in the multi-method ones. */
export const FINETUNE_FILES = ['hotpotqa', 'hotpotqa_multimethod', 'multitask', 'multitask_multimethod'] as const;
const REACT_ONLY_FILES = ['hotpotqa', 'multitask'];
const HOTPOTQA_FILES = ['hotpotqa', 'hotpotqa_multimethod'];
const REFLECTION_MARK = 'let me do a reflection';
const TERMINAL_PREFIX = 'Episode finished';

export interface Recording {
  task: TaskName;
  method: MethodName;
  /** Question text as the agent sees it: the raw (untrimmed) form kept by the alpaca files where known. */
  questionText: string;
  assistantTurns: string[];
  /** observations[i] followed assistantTurns[i]; without the "Observation: " prefix. */
  observations: string[];
  /** The recorded finish when the episode ended with a positive reward; stands as the gold answer. */
  gold: string | null;
  source: { file: string; line: number };
}

export interface SkippedRecord {
  file: string;
  line: number;
  reason: string;
}

export interface RecordingSet {
  files: string[];
  recordings: Recording[];
  skipped: SkippedRecord[];
}

interface Message {
  role: string;
  content: string;
}

/** Whitespace-insensitive key for matching a question across files and against agent requests. */
export function questionKey(text: string): string {
  return text.trim().replace(/\s+/g, ' ');
}

export function recordingKey(task: string, method: string, questionText: string): string {
  return `${task}\u0000${method}\u0000${questionKey(questionText)}`;
}

function positiveReward(observation: string): boolean {
  return /reward\s*=\s*(1|True)\s*$/.test(observation);
}

function isMmluPrompt(text: string): boolean {
  return text.startsWith('Question:') && splitChoices(text).choices.length > 0;
}

function whyMalformed(messages: Message[]): string | null {
  if (!Array.isArray(messages) || messages.length < 3) return 'fewer than three messages';
  if (messages[0].role !== 'user') return `first message is "${messages[0].role}", not the user's question`;
  for (let i = 1; i < messages.length; i++) {
    const want = i % 2 === 1 ? 'assistant' : 'user';
    const m = messages[i];
    if (m.role !== want) return `message ${i} is "${m.role}" where "${want}" belongs`;
    if (typeof m.content !== 'string' || m.content.length === 0) return `message ${i} is empty`;
    if (want === 'assistant' && !parseAction(m.content)) return `assistant turn ${(i - 1) / 2} has no search[...] or finish[...] action`;
    if (want === 'user' && !m.content.startsWith(OBSERVATION_PREFIX)) return `message ${i} is not an observation`;
  }
  const last = messages[messages.length - 1].content;
  if (!last.startsWith(`Observation: ${TERMINAL_PREFIX}`)) return 'trajectory does not end with "Episode finished"';
  return null;
}

async function readLines(file: string): Promise<string[]> {
  try {
    return (await fs.readFile(file, 'utf8')).split('\n');
  } catch (err) {
    throw typedFailure({
      type: ErrorType.MissingData,
      message: `cannot read FireAct fine-tuning file ${file}: ${(err as Error).message}`,
      nonRetryable: true,
    });
  }
}

/** Alpaca instructions keep the question's original whitespace, which the chat files trimmed. */
async function rawStems(dataDir: string, file: string): Promise<Map<string, string>> {
  const stems = new Map<string, string>();
  try {
    const rows = JSON.parse(await fs.readFile(path.join(dataDir, 'finetune', 'alpaca_format', `${file}.json`), 'utf8')) as Array<{ instruction: string }>;
    for (const r of rows) if (!stems.has(questionKey(r.instruction))) stems.set(questionKey(r.instruction), r.instruction);
  } catch {
    // No alpaca companion: the chat text is used as it is.
  }
  return stems;
}

/** Loads recordings from the named files (names as in FINETUNE_FILES or any other *.jsonl in gpt_format). */
export async function loadRecordings(dataDir: string, files: readonly string[]): Promise<RecordingSet> {
  const chatDir = path.join(dataDir, 'finetune', 'gpt_format');
  const parsedFiles = new Map<string, Array<{ line: number; text: string }>>();
  const loadFile = async (name: string) => {
    if (!parsedFiles.has(name)) {
      const lines = await readLines(path.join(chatDir, `${name}.jsonl`));
      parsedFiles.set(
        name,
        lines.map((text, i) => ({ line: i + 1, text })).filter((l) => l.text.trim().length > 0),
      );
    }
    return parsedFiles.get(name)!;
  };

  // Membership in the ReAct-only files marks a record as ReAct; HotpotQA files mark its questions.
  const reactRecords = new Set<string>();
  const hotpotQuestions = new Set<string>();
  for (const name of new Set([...REACT_ONLY_FILES, ...HOTPOTQA_FILES])) {
    let lines: Array<{ line: number; text: string }>;
    try {
      lines = await loadFile(name);
    } catch {
      continue; // classification falls back on shape alone
    }
    for (const { text } of lines) {
      if (REACT_ONLY_FILES.includes(name)) reactRecords.add(text);
      if (HOTPOTQA_FILES.includes(name)) {
        try {
          const first = (JSON.parse(text) as { messages: Message[] }).messages[0];
          if (first?.role === 'user') hotpotQuestions.add(questionKey(first.content));
        } catch {
          // malformed lines are reported when their own file is read
        }
      }
    }
  }

  const recordings: Recording[] = [];
  const skipped: SkippedRecord[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    const stems = await rawStems(dataDir, file);
    for (const { line, text } of await loadFile(file)) {
      let messages: Message[];
      try {
        messages = (JSON.parse(text) as { messages: Message[] }).messages;
      } catch (err) {
        skipped.push({ file, line, reason: `not valid JSON: ${(err as Error).message}` });
        continue;
      }
      const problem = whyMalformed(messages);
      if (problem) {
        skipped.push({ file, line, reason: problem });
        continue;
      }
      const chatQuestion = messages[0].content;
      const assistantTurns = messages.filter((_, i) => i % 2 === 1).map((m) => m.content);
      const observations = messages.filter((_, i) => i > 0 && i % 2 === 0).map((m) => m.content.slice(OBSERVATION_PREFIX.length));

      const method: MethodName = assistantTurns.some((t) => t.includes(REFLECTION_MARK))
        ? 'reflexion'
        : reactRecords.has(text) || assistantTurns.length > 1
          ? 'react'
          : 'cot';
      const task: TaskName = hotpotQuestions.has(questionKey(chatQuestion))
        ? 'hotpotqa'
        : isMmluPrompt(chatQuestion)
          ? 'mmlu'
          : 'strategyqa';

      const { stem, choices } = splitChoices(chatQuestion);
      const rawStem = stems.get(questionKey(stem)) ?? stem;
      const questionText = [rawStem, ...choices].join('\n');

      const key = recordingKey(task, method, questionText);
      if (seen.has(key)) {
        skipped.push({ file, line, reason: `another recording of the same ${task} question with method ${method} came first` });
        continue;
      }
      seen.add(key);
      const finish = parseAction(assistantTurns[assistantTurns.length - 1]);
      const gold = finish?.action.type === 'finish' && positiveReward(observations[observations.length - 1]) ? finish.action.arg : null;
      recordings.push({ task, method, questionText, assistantTurns, observations, gold, source: { file, line } });
    }
  }
  return { files: [...files], recordings, skipped };
}
