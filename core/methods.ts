// Every agent method and the facts about it that the loop, the plan and the budget share. A method's
// prompt is its row in `METHOD_PROMPTS` (lib/agent/prompts.ts), a Record over MethodName, so a method
// added here without a prompt is a type error.
interface MethodFacts {
  /** One reply that is the answer: no tool calls, no steps. */
  singleTurn: boolean;
  /** Steps run in trials with a reflection between them (caps.reflexion), not under caps.maxSteps. */
  trials: boolean;
}

export const METHODS = {
  io: { singleTurn: true, trials: false },
  cot: { singleTurn: true, trials: false },
  react: { singleTurn: false, trials: false },
  reflexion: { singleTurn: false, trials: true },
} as const satisfies Record<string, MethodFacts>;

export type MethodName = keyof typeof METHODS;
export const METHOD_NAMES = Object.keys(METHODS) as [MethodName, ...MethodName[]];

/** The methods that answer in one reply. */
export type SingleTurnMethod = { [K in MethodName]: (typeof METHODS)[K]['singleTurn'] extends true ? K : never }[MethodName];

export function isSingleTurn(method: MethodName): method is SingleTurnMethod {
  return METHODS[method].singleTurn;
}

export interface StepCaps {
  maxSteps: number;
  reflexion: { maxTrials: number; stepsPerTrial: number };
}

/** Steps an episode may take before its forced finish: none for a single-turn method. */
export function maxEpisodeSteps(method: MethodName, caps: StepCaps): number {
  if (isSingleTurn(method)) return 0;
  return METHODS[method].trials ? caps.reflexion.maxTrials * caps.reflexion.stepsPerTrial : caps.maxSteps;
}

/** Model calls an episode makes at most (re-asks aside): one for a single-turn method; the step cap plus a forced finish otherwise. */
export function maxEpisodeCalls(method: MethodName, caps: StepCaps): number {
  return isSingleTurn(method) ? 1 : maxEpisodeSteps(method, caps) + 1;
}
