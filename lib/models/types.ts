// What the agent loop needs from a chat model, whatever the provider behind it.
import type { ModelConfig } from '../../core/config';
import type { ContentCache } from '../cache/content-cache';
import type { ReplayLibrary } from '../replay/library';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** What the agent is doing when it asks; replay uses it to find the recording, endpoints never see it. */
export interface ChatContext {
  task: string;
  questionId: string;
  /** The question's prompt text, as in Question.text. */
  questionText: string;
  method: string;
  /** 0-based index of the assistant turn being asked for in this episode's trajectory. */
  turn: number;
  /** The assistant turns the trajectory holds so far (replay checks it still follows its recording). */
  previousTurns: string[];
}

export interface ChatRequest {
  messages: ChatMessage[];
  stop?: string[];
  maxTokens?: number;
  temperature?: number;
  context?: ChatContext;
}

export interface ChatResponse {
  content: string;
  promptTokens: number;
  completionTokens: number;
  /** Answered from the content-addressed cache: nothing was paid. */
  cached: boolean;
  /** The endpoint reported no usage, so the token counts are a rough estimate (characters / 4). */
  usageEstimated?: boolean;
  finishReason?: string;
  /** Replay only: the observation recorded right after this turn (used for the terminal "Episode finished" line). */
  recordedObservation?: string;
}

export interface ChatModel {
  /** The config's model name (e.g. "teacher"). */
  readonly name: string;
  readonly provider: string;
  readonly model: string;
  complete(request: ChatRequest, signal?: AbortSignal): Promise<ChatResponse>;
}

/** What a model provider gets to build a model from its config entry (see `MODEL_PROVIDER_REGISTRY`). */
export interface ModelProviderContext {
  /** The model's name in config.models. */
  name: string;
  config: ModelConfig;
  /** The worker's environment, where secrets are read by variable name. */
  env: NodeJS.ProcessEnv;
  /** The content-addressed cache of model calls. */
  cache: ContentCache;
  replayLibrary(files?: readonly string[]): Promise<ReplayLibrary>;
}

export type ModelProvider = (ctx: ModelProviderContext) => Promise<ChatModel>;
