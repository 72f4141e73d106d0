// The prompt texts are data (prompt-data/): the instructions and answer formats per method and task family, and
// the worked examples written for this project (each carries what every method needs: a search-based ReAct
// solution, a one-paragraph CoT reasoning and the answer for IO; the questions are from no evaluation split).
// This module is their one loader: it checks their shape once, when first imported, and fills templates.
import { z } from 'zod';
import { METHOD_NAMES, type MethodName } from '../../core/methods';
import choice from './prompt-data/examples-choice.json';
import multihop from './prompt-data/examples-multihop.json';
import yesno from './prompt-data/examples-yesno.json';
import instructionsData from './prompt-data/instructions.json';
import type { Action } from './actions';

export type TaskFamily = 'multihop' | 'yesno' | 'choice';

const action = z.strictObject({ type: z.enum(['search', 'finish']), arg: z.string().min(1) });
const step = z.strictObject({
  thought: z.string().min(1),
  action,
  /** What the search returned; absent after the finishing step. */
  observation: z.string().min(1).optional(),
});
const worked = z.strictObject({ question: z.string().min(1), steps: z.array(step).min(1), reasoning: z.string().min(1), answer: z.string().min(1) });
/** A Reflexion example: a first trial that ends with a wrong answer, then a reflection that starts a better one. */
const reflection = z.strictObject({
  question: z.string().min(1),
  failed: z.array(step).min(1),
  /** The first step of `retry` is the reflection turn (its thought is the reflection itself). */
  retry: z.array(step).min(1),
});
const familyFile = z.strictObject({ worked: z.array(worked).min(1), reflection });
const perFamily = z.strictObject({ multihop: z.string(), yesno: z.string(), choice: z.string() });
// One text per method of core/methods.ts, so a method added there without its texts fails on load.
const perMethod = z.strictObject(Object.fromEntries(METHOD_NAMES.map((m) => [m, z.string()])) as Record<MethodName, z.ZodString>);
const instructionsFile = z.strictObject({
  answerFormat: perFamily,
  actions: z.string(),
  method: perMethod,
  malformed: z.strictObject({ template: z.string(), form: perMethod }),
  forcedFinish: z.string(),
  reflection: z.strictObject({ template: z.string(), incorrect: z.string(), steps: z.string() }),
});

export type ExampleStep = z.infer<typeof step> & { action: Action };
export type WorkedExample = z.infer<typeof worked>;
export type ReflectionExample = z.infer<typeof reflection>;
export type PromptInstructions = z.infer<typeof instructionsFile>;

function load<T>(schema: z.ZodType<T>, data: unknown, file: string): T {
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw new Error(`prompt data file ${file} is malformed: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

const files = {
  multihop: load(familyFile, multihop, 'examples-multihop.json'),
  yesno: load(familyFile, yesno, 'examples-yesno.json'),
  choice: load(familyFile, choice, 'examples-choice.json'),
};

export const WORKED_EXAMPLES: Record<TaskFamily, readonly WorkedExample[]> = {
  multihop: files.multihop.worked,
  yesno: files.yesno.worked,
  choice: files.choice.worked,
};

export const REFLECTION_EXAMPLES: Record<TaskFamily, ReflectionExample> = {
  multihop: files.multihop.reflection,
  yesno: files.yesno.reflection,
  choice: files.choice.reflection,
};

export const INSTRUCTIONS: PromptInstructions = load(instructionsFile, instructionsData, 'instructions.json');

/** `template` with each `{name}` replaced by `values[name]`; a placeholder without a value is a bug in the data. */
export function fillTemplate(template: string, values: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`prompt template has no value for {${name}}: ${JSON.stringify(template)}`);
    return String(value);
  });
}
