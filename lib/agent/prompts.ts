// The prompts the agent sends: a system message (instructions + worked examples) before the conversation, which
// has exactly the shape of the fine-tuning data, so a prompted teacher and a fine-tuned student see the same turns.
import type { MethodName, TaskName } from '../../core/config';
import type { Question, Turn } from '../../core/trajectory';
import type { ChatMessage } from '../models/types';
import type { Action } from './actions';
import { REFLECTION_EXAMPLES, WORKED_EXAMPLES, type ExampleStep, type ReflectionExample, type TaskFamily, type WorkedExample } from './exemplars';

export type { TaskFamily } from './exemplars';

export const OBSERVATION_PREFIX = 'Observation: ';

/** The start of every stored reflection turn; a turn already starting with it came from a recording. */
export const REFLECTION_HEADER_START = "Thought: Now that I haven't solved the task within";

/** The fixed opening of a reflection turn, as in the FireAct recordings (note the trailing space). */
export function reflectionHeader(stepsSoFar: number): string {
  return `${REFLECTION_HEADER_START} ${stepsSoFar} steps, let me do a reflection and think about how to improve my strategy. `;
}

export function taskFamily(task: TaskName): TaskFamily {
  switch (task) {
    case 'hotpotqa':
    case 'bamboogle':
      return 'multihop';
    case 'strategyqa':
      return 'yesno';
    case 'mmlu':
      return 'choice';
  }
}

const ANSWER_FORMAT: Record<TaskFamily, string> = {
  multihop: 'The answer inside finish[...] is short: an entity, a date, a number, or yes/no — no explanation.',
  yesno: 'The answer inside finish[...] is exactly yes or no.',
  choice: 'The answer inside finish[...] is only the letter (A, B, C or D) of the right option.',
};

const ACTIONS_HELP =
  'There are two actions:\n' +
  '(1) search[query]: searches the web and returns a short snippet as the Observation.\n' +
  '(2) finish[answer]: gives the final answer and ends the task.';

function instructions(method: MethodName, family: TaskFamily): string {
  const format = ANSWER_FORMAT[family];
  switch (method) {
    case 'io':
      return `Answer the question. Reply with one line only, in the form:\nAction: finish[answer]\n${format}`;
    case 'cot':
      return (
        'Answer the question by reasoning step by step. Reply with one Thought holding your reasoning, then the answer, in the form:\n' +
        `Thought: your reasoning\nAction: finish[answer]\n${format}`
      );
    case 'react':
      return (
        'Solve the question with interleaved Thought, Action and Observation steps. A Thought reasons about the current situation; ' +
        `an Action is one of the actions below, and you then receive its Observation.\n${ACTIONS_HELP}\n` +
        `Each reply is one step: a Thought, then one Action, then stop.\n${format}`
      );
    case 'reflexion':
      return (
        'Solve the question with interleaved Thought, Action and Observation steps. A Thought reasons about the current situation; ' +
        `an Action is one of the actions below, and you then receive its Observation.\n${ACTIONS_HELP}\n` +
        'Each reply is one step: a Thought, then one Action, then stop. If an attempt fails (you are told the answer is incorrect, ' +
        'or you run out of steps), reflect on what went wrong and how to do better, then continue with a new Thought and Action.\n' +
        format
      );
  }
}

const actionText = (a: Action) => `Action: ${a.type}[${a.arg}]`;
const stepText = (s: ExampleStep) => `Thought: ${s.thought}\n${actionText(s.action)}`;

function stepsTranscript(steps: readonly ExampleStep[]): string[] {
  return steps.flatMap((s) => (s.observation === undefined ? [stepText(s)] : [stepText(s), OBSERVATION_PREFIX + s.observation]));
}

function workedTranscript(method: MethodName, ex: WorkedExample): string {
  switch (method) {
    case 'io':
      return [ex.question, actionText({ type: 'finish', arg: ex.answer })].join('\n');
    case 'cot':
      return [ex.question, `Thought: ${ex.reasoning}\n${actionText({ type: 'finish', arg: ex.answer })}`].join('\n');
    case 'react':
    case 'reflexion':
      return [ex.question, ...stepsTranscript(ex.steps)].join('\n');
  }
}

function reflectionTranscript(ex: ReflectionExample): string {
  const [reflection, ...rest] = ex.retry;
  const reflectionTurn = `${reflectionHeader(ex.failed.length)}${stepText(reflection)}`;
  const lines = [ex.question, ...stepsTranscript(ex.failed), `${OBSERVATION_PREFIX}Answer is incorrect.`, reflectionTurn];
  if (reflection.observation !== undefined) lines.push(OBSERVATION_PREFIX + reflection.observation);
  return [...lines, ...stepsTranscript(rest)].join('\n');
}

/** The first `fewShot` examples for a method and task, as transcripts (Reflexion leads with its reflection example). */
export function exemplars(method: MethodName, task: TaskName, fewShot: number): string[] {
  const family = taskFamily(task);
  const worked = WORKED_EXAMPLES[family].map((ex) => workedTranscript(method, ex));
  const all = method === 'reflexion' ? [reflectionTranscript(REFLECTION_EXAMPLES[family]), ...worked] : worked;
  return all.slice(0, Math.max(0, fewShot));
}

export function systemPrompt(method: MethodName, task: TaskName, fewShot: number): string {
  const text = instructions(method, taskFamily(task));
  const shots = exemplars(method, task, fewShot);
  if (shots.length === 0) return text;
  const examples = shots.map((s, i) => `Example ${i + 1}:\n${s}`).join('\n\n');
  return `${text}\n\nHere are some examples.\n\n${examples}\n\n(End of examples.)`;
}

/** The conversation as a fine-tuned student sees it (and as the datasets store it): no system prompt, no examples. */
export function studentMessages(question: Pick<Question, 'text'>, turns: readonly Turn[]): ChatMessage[] {
  return [
    { role: 'user', content: question.text },
    ...turns.map((t): ChatMessage => (t.role === 'assistant' ? { role: 'assistant', content: t.content } : { role: 'user', content: OBSERVATION_PREFIX + t.content })),
  ];
}

/** What a prompted model is sent: the system prompt, then the student conversation. */
export function promptMessages(method: MethodName, question: Question, turns: readonly Turn[], fewShot: number): ChatMessage[] {
  return [{ role: 'system', content: systemPrompt(method, question.task, fewShot) }, ...studentMessages(question, turns)];
}

/** Sent after a reply with no usable action (request only, never stored). */
export function malformedNudge(method: MethodName, attempt: number): string {
  const form =
    method === 'io'
      ? 'one line: Action: finish[answer]'
      : method === 'cot'
        ? 'a Thought, then Action: finish[answer]'
        : 'a Thought, then exactly one Action: search[query] or finish[answer]';
  // The attempt number keeps each re-ask distinct, so a content-addressed cache cannot hand back the same bad reply.
  return `Your last reply had no valid Action (re-ask ${attempt}). Reply with ${form}.`;
}

/** Sent when the episode must end now: at the step cap, or after the re-asks ran out. */
export function forcedFinishInstruction(): string {
  return 'You must give your final answer now. Reply with a Thought, then Action: finish[answer], using your best guess.';
}

/** Sent before the first step of a new Reflexion trial. */
export function reflectionInstruction(reason: 'steps' | 'incorrect', stepsSoFar: number): string {
  const why = reason === 'incorrect' ? 'Your answer was incorrect.' : `You have not solved the task within ${stepsSoFar} steps.`;
  return `${why} Reflect on what went wrong in your attempt and how to improve your strategy, then continue with a new Thought and Action.`;
}
