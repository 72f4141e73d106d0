// The agent loop: one question, one method, one model (and maybe a search tool) -> one trajectory.
// Pure orchestration over the ChatModel and SearchBackend interfaces; retries of whole episodes are the caller's.
import { isSingleTurn, maxEpisodeSteps, METHODS, type MethodName } from '../../core/methods';
import { emptyUsage, type Question, type ToolCall, type TrajectoryRecord, type Turn } from '../../core/trajectory';
import type { ChatMessage, ChatModel, ChatResponse } from '../models/types';
import type { SearchBackend } from '../tools/types';
import { cleanOutput, parseAction, type ParsedOutput } from './actions';
import {
  REFLECTION_HEADER_START,
  forcedFinishInstruction,
  malformedNudge,
  promptMessages,
  studentMessages,
  reflectionHeader,
  reflectionInstruction,
} from './prompts';

export type Scorer = (prediction: string | null, answers: readonly string[]) => { score: number; metrics: Record<string, number> };

export interface EpisodeOptions {
  /** ReAct step cap; reaching it asks once for a forced finish. */
  maxSteps: number;
  /** Re-asks after a reply with no usable action, before a forced finish. */
  maxMalformedRetries: number;
  /** Reflexion: trials of stepsPerTrial steps each (its step cap is their product, not maxSteps). */
  reflexion: { maxTrials: number; stepsPerTrial: number };
  /** Worked examples in the system prompt (0 = instructions only). */
  fewShot: number;
  /** 'student': the bare conversation a fine-tuned student was trained on (no instructions, no examples). */
  prompt?: 'few-shot' | 'student';
}

export interface EpisodeInput {
  question: Question;
  method: MethodName;
  model: ChatModel;
  /** Absent when the task offers no search tool. */
  search?: SearchBackend;
  score: Scorer;
  options: EpisodeOptions;
  signal?: AbortSignal;
  /** Called after every model call with the number of steps taken so far (the activity heartbeats with it). */
  onStep?: (steps: number) => void;
}

export type EpisodeResult = Omit<TrajectoryRecord, 'schema' | 'id' | 'experiment' | 'teacher'>;

const INCORRECT_OBSERVATION = 'Answer is incorrect.';
const NO_SEARCH_OBSERVATION = 'Search is not available for this task. Answer with finish[answer].';
const STOP = ['\nObservation'];

function finishedObservation(reward: number | null): string {
  return `Episode finished, reward = ${reward ?? 'unknown'}`;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Adds an instruction to the request's last user message (a new user message only if there is none), so roles
 * keep alternating: some chat templates reject two user messages in a row. */
function withInstruction(messages: ChatMessage[], text: string): ChatMessage[] {
  const last = messages[messages.length - 1];
  if (last?.role !== 'user') return [...messages, { role: 'user', content: text }];
  return [...messages.slice(0, -1), { role: 'user', content: `${last.content}\n\n${text}` }];
}

interface Reply {
  content: string;
  parsed: ParsedOutput;
  response: ChatResponse;
}

export async function runEpisode(input: EpisodeInput): Promise<EpisodeResult> {
  const { question, method, model, search, score, options, signal, onStep } = input;
  const singleTurn = isSingleTurn(method);
  const isReflexion = METHODS[method].trials;
  const stepCap = maxEpisodeSteps(method, options);
  const { maxTrials, stepsPerTrial } = options.reflexion;
  const hasGold = question.answers.length > 0;

  const turns: Turn[] = [];
  const usage = emptyUsage();
  let steps = 0;
  let malformed = 0;
  let forcedFinish = false;
  let trials = 1;
  let trialSteps = 0;
  let prediction: string | null = null;
  let reward: number | null = null;
  let metrics: Record<string, number> = {};
  let finished = false;
  /** Set when the next turn must open a new Reflexion trial with a reflection. */
  let reflectionDue: 'steps' | 'incorrect' | null = null;

  const assistantContents = () => turns.flatMap((t) => (t.role === 'assistant' ? [t.content] : []));

  const call = async (messages: ChatMessage[]): Promise<ChatResponse> => {
    signal?.throwIfAborted();
    const previousTurns = assistantContents();
    const response = await model.complete(
      {
        messages,
        ...(singleTurn ? {} : { stop: STOP }),
        context: { task: question.task, questionId: question.id, questionText: question.text, method, turn: previousTurns.length, previousTurns },
      },
      signal,
    );
    usage.calls += 1;
    usage.promptTokens += response.promptTokens;
    usage.completionTokens += response.completionTokens;
    if (response.cached) usage.cachedCalls += 1;
    onStep?.(steps);
    return response;
  };

  // A forced reply must finish; otherwise io/cot must finish and react/reflexion may search or finish.
  const usable = (parsed: ParsedOutput | null, forced: boolean): parsed is ParsedOutput =>
    parsed !== null && (parsed.action.type === 'finish' || (!forced && !singleTurn));

  /** Asks for the next step: re-asks on unusable replies, then one forced finish; null = give up (unfinished). */
  const nextReply = async (atCap: boolean): Promise<Reply | null> => {
    let base = options.prompt === 'student' ? studentMessages(question, turns) : promptMessages(method, question, turns, options.fewShot);
    if (reflectionDue) base = withInstruction(base, reflectionInstruction(reflectionDue, steps));
    if (atCap) {
      forcedFinish = true;
      const response = await call(withInstruction(base, forcedFinishInstruction()));
      const content = cleanOutput(response.content);
      const parsed = parseAction(content);
      if (usable(parsed, true)) return { content, parsed, response };
      malformed += 1;
      return null;
    }
    // Bad replies and nudges go into the request only; the trajectory never holds them.
    const extra: ChatMessage[] = [];
    for (let attempt = 0; ; attempt++) {
      const forced = attempt > options.maxMalformedRetries;
      if (forced) forcedFinish = true;
      const response = await call([...base, ...extra]);
      const content = cleanOutput(response.content);
      const parsed = parseAction(content);
      if (usable(parsed, forced)) return { content, parsed, response };
      malformed += 1;
      if (forced) return null;
      extra.push({ role: 'assistant', content: content || '(empty reply)' });
      extra.push({
        role: 'user',
        content: attempt < options.maxMalformedRetries ? malformedNudge(method, attempt + 1) : forcedFinishInstruction(),
      });
    }
  };

  const runSearch = async (query: string): Promise<{ observation: string; tool?: ToolCall }> => {
    if (!search) return { observation: NO_SEARCH_OBSERVATION };
    signal?.throwIfAborted();
    try {
      const r = await search.search({ query, context: { task: question.task, questionText: question.text, method } }, signal);
      return { observation: r.observation, tool: { name: 'search', query, backend: r.backend, cached: r.cached } };
    } catch (err) {
      if (signal?.aborted) throw err;
      const message = errorMessage(err);
      return { observation: `Search failed: ${message}`, tool: { name: 'search', query, backend: search.name, cached: false, error: message } };
    }
  };

  while (!finished) {
    if (isReflexion && trialSteps >= stepsPerTrial && trials < maxTrials) {
      trials += 1;
      trialSteps = 0;
      reflectionDue = 'steps';
    }
    // Reflexion's last trial is held to stepsPerTrial too, so an early wrong answer does not lend it extra steps.
    const atCap = !singleTurn && (steps >= stepCap || (isReflexion && trialSteps >= stepsPerTrial));
    const reply = await nextReply(atCap);
    if (!reply) break;

    let content = reply.content;
    if (reflectionDue && !content.startsWith(REFLECTION_HEADER_START)) content = reflectionHeader(steps) + content;
    reflectionDue = null;
    const { response } = reply;
    turns.push({
      role: 'assistant',
      content,
      usage: { promptTokens: response.promptTokens, completionTokens: response.completionTokens, cached: response.cached },
    });
    steps += 1;
    trialSteps += 1;

    const action = reply.parsed.action;
    if (action.type === 'search') {
      const { observation, tool } = await runSearch(action.arg);
      turns.push(tool ? { role: 'observation', content: observation, tool } : { role: 'observation', content: observation });
      continue;
    }

    const result = hasGold ? score(action.arg, question.answers) : null;
    const r = result ? result.score : null;
    if (isReflexion && r !== null && r <= 0 && trials < maxTrials) {
      // A wrong answer ends the trial, not the episode: the next turn reflects and tries again.
      turns.push({ role: 'observation', content: INCORRECT_OBSERVATION });
      trials += 1;
      trialSteps = 0;
      reflectionDue = 'incorrect';
      continue;
    }
    prediction = action.arg;
    reward = r;
    metrics = result ? result.metrics : {};
    turns.push({ role: 'observation', content: response.recordedObservation ?? finishedObservation(reward) });
    finished = true;
  }

  if (!finished && hasGold) {
    reward = 0;
    metrics = score(null, question.answers).metrics;
  }

  return { question, method, turns, prediction, finished, reward, metrics, steps, trials, malformed, forcedFinish, usage };
}
