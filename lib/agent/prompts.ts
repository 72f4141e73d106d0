// The prompts the agent sends: a system message (instructions + worked examples) before the conversation, which
// has exactly the shape of the fine-tuning data, so a prompted teacher and a fine-tuned student see the same turns.
import type { MethodName, TaskName } from '../../core/config';
import { OBSERVATION_PREFIX, type Question, type Turn } from '../../core/trajectory';
import type { ChatMessage } from '../models/types';
import type { Action } from './actions';
import { fillTemplate, INSTRUCTIONS, REFLECTION_EXAMPLES, WORKED_EXAMPLES, type ExampleStep, type ReflectionExample, type TaskFamily, type WorkedExample } from './exemplars';

export type { TaskFamily } from './exemplars';

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

function instructions(method: MethodName, family: TaskFamily): string {
  return fillTemplate(INSTRUCTIONS.method[method], { actions: INSTRUCTIONS.actions, answerFormat: INSTRUCTIONS.answerFormat[family] });
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
  // The attempt number keeps each re-ask distinct, so a content-addressed cache cannot hand back the same bad reply.
  return fillTemplate(INSTRUCTIONS.malformed.template, { attempt, form: INSTRUCTIONS.malformed.form[method] });
}

/** Sent when the episode must end now: at the step cap, or after the re-asks ran out. */
export function forcedFinishInstruction(): string {
  return INSTRUCTIONS.forcedFinish;
}

/** Sent before the first step of a new Reflexion trial. */
export function reflectionInstruction(reason: 'steps' | 'incorrect', stepsSoFar: number): string {
  const why = reason === 'incorrect' ? INSTRUCTIONS.reflection.incorrect : fillTemplate(INSTRUCTIONS.reflection.steps, { steps: stepsSoFar });
  return fillTemplate(INSTRUCTIONS.reflection.template, { why });
}
