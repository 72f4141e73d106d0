// A ChatModel over any OpenAI-compatible endpoint, through the official `openai` client.
// Retrying is done here, not by the SDK (maxRetries: 0): a bounded number of attempts inside one
// activity attempt, honouring the server's Retry-After, then a typed ApplicationFailure so that
// Temporal's retry policy takes over. Every answer goes through the content-addressed cache.
import OpenAI, { APIError } from 'openai';
import { endpointKey, type ModelConfig } from '../../core/config';
import { ErrorType, typedFailure, isTypedFailure, type TypedFailure } from '../../core/errors';
import type { ContentCache } from '../cache/content-cache';
import { classifyOpenAIError, MalformedResponse, type ClassifiedError } from './openai-errors';
import { redact } from './http-common';
import { limiterForModel, systemClock, type Clock, type Limiter } from './limiter';
import type { ChatMessage, ChatModel, ChatRequest, ChatResponse, ModelProvider } from './types';
import { keepAliveFetch } from '../net/keepalive-fetch';

export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';
/** Sent to keyless local servers (vLLM, Ollama, llama.cpp), which ignore it. */
export const PLACEHOLDER_API_KEY = 'no-key';

/** The key from the worker's environment; it never enters config, history or messages. */
export function resolveApiKey(config: Pick<ModelConfig, 'apiKeyEnv' | 'baseUrl' | 'model'>, env: NodeJS.ProcessEnv = process.env): string {
  const key = endpointKey(config);
  if (key === 'keyless') return PLACEHOLDER_API_KEY;
  if (!key) {
    throw typedFailure({
      type: ErrorType.MissingSecret,
      nonRetryable: true,
      message: `model "${config.model}" has neither apiKeyEnv nor a baseUrl of a keyless endpoint`,
    });
  }
  const value = env[key.env];
  if (!value || !value.trim()) {
    throw typedFailure({
      type: ErrorType.MissingSecret,
      nonRetryable: true,
      message: `environment variable ${key.env} (API key for model "${config.model}") is not set in the worker's environment`,
    });
  }
  return value.trim();
}

export interface RetryInfo {
  attempt: number;
  delayMs: number;
  reason: string;
}

export interface OpenAIModelOptions {
  /** The config's name for this model (e.g. "teacher"). */
  name: string;
  config: ModelConfig;
  /** Defaults to resolveApiKey(config), read only when a request actually has to be sent. */
  apiKey?: string;
  cache: ContentCache;
  /** Share one per model per worker so the caps hold across activities; built from config when absent. */
  limiter?: Limiter;
  /** HTTP attempts inside one call before handing over to Temporal's retry (default 5). */
  maxAttempts?: number;
  /** Exponential backoff for 5xx, connection errors and timeouts (defaults 500 ms doubling, capped at 20 s). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** A Retry-After longer than this is not slept through here but passed to Temporal as nextRetryDelay (default 60 s). */
  maxRetryAfterMs?: number;
  /** Called before each in-call retry sleep (activities heartbeat or log here). */
  onRetry?: (info: RetryInfo) => void;
  clock?: Clock;
  random?: () => number;
}

/** What the cache keeps for one answer. */
export interface StoredCompletion {
  content: string;
  promptTokens: number;
  completionTokens: number;
  usageEstimated: boolean;
  finishReason?: string;
  responseModel?: string;
  responseId?: string;
  /** Answered through the Batch API for this episode (its trajectory counts the call as paid, not cached). */
  paidBy?: string;
}

/**
 * The request as sent to /chat/completions and the cache key it is answered under. The synchronous
 * client and the Batch API path both build it here, so an answer from either serves the other.
 */
export function completionRequest(config: ModelConfig, keyOf: (obj: unknown) => string, request: ChatRequest) {
  const baseUrl = normalizeBaseUrl(config.baseUrl);
  // Only role and content are sent or hashed, whatever else a caller's objects carry.
  const messages: ChatMessage[] = request.messages.map((m) => ({ role: m.role, content: m.content }));
  const stop = request.stop && request.stop.length > 0 ? request.stop : undefined;
  const maxTokens = request.maxTokens ?? config.maxTokens;
  const temperature = request.temperature ?? config.temperature;
  // The context (which question, which turn) is bookkeeping: equal prompts share one answer.
  const key = keyOf({ provider: config.provider, baseUrl, model: config.model, messages, stop: stop ?? null, maxTokens, temperature });
  const body = { model: config.model, messages, max_tokens: maxTokens, temperature, ...(stop ? { stop } : {}) };
  return { key, body, messages, stop, maxTokens, temperature };
}

/** A cached answer as the agent loop sees it. */
export function chatResponse(value: StoredCompletion, cached: boolean): ChatResponse {
  return {
    content: value.content,
    promptTokens: value.promptTokens,
    completionTokens: value.completionTokens,
    cached,
    finishReason: value.finishReason,
    ...(value.usageEstimated ? { usageEstimated: true } : {}),
  };
}

/** A chat-completion body (a batch output line's response body) as the cache stores it; throws on an unusable one. */
export function storedCompletion(raw: unknown, messages: readonly ChatMessage[]): StoredCompletion {
  return readCompletion(raw, messages.map((m) => m.content).join('\n'));
}

/** A reply that arrived but cannot be used; transient as far as anyone can tell. */


function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** prompt + completion tokens as the server counted them, when it says. */
function tokensOf(raw: unknown): number | undefined {
  const usage = (raw as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } } | null)?.usage;
  return typeof usage?.prompt_tokens === 'number' && typeof usage.completion_tokens === 'number' ? usage.prompt_tokens + usage.completion_tokens : undefined;
}

function readCompletion(raw: unknown, promptText: string): StoredCompletion {
  if (!raw || typeof raw !== 'object') throw new MalformedResponse('response body is not a JSON object');
  const body = raw as Record<string, unknown>;
  if (!Array.isArray(body.choices)) throw new MalformedResponse('response has no "choices" array');
  if (body.choices.length === 0) throw new MalformedResponse('response has an empty "choices" array');
  const choice = body.choices[0] as { message?: { content?: unknown }; finish_reason?: unknown } | undefined;
  const content = choice?.message?.content;
  const finishReason = typeof choice?.finish_reason === 'string' ? choice.finish_reason : undefined;
  if (typeof content !== 'string') {
    throw new MalformedResponse(`first choice has no text content (finish_reason: ${finishReason ?? 'none'})`);
  }
  const usage = body.usage as { prompt_tokens?: unknown; completion_tokens?: unknown } | undefined;
  const hasUsage = typeof usage?.prompt_tokens === 'number' && typeof usage?.completion_tokens === 'number';
  return {
    content,
    promptTokens: hasUsage ? (usage!.prompt_tokens as number) : estimateTokens(promptText),
    completionTokens: hasUsage ? (usage!.completion_tokens as number) : estimateTokens(content),
    usageEstimated: !hasUsage,
    finishReason,
    responseModel: typeof body.model === 'string' ? body.model : undefined,
    responseId: typeof body.id === 'string' ? body.id : undefined,
  };
}

/** An OpenAI-compatible base URL without trailing slashes; OpenAI's own when none is given. */
export function normalizeBaseUrl(url: string | undefined): string {
  return (url ?? DEFAULT_OPENAI_BASE_URL).replace(/\/+$/, '');
}

/**
 * An endpoint must be an http(s) URL: the client would otherwise fail each request with a transport
 * error that looks like a server down and is retried for ever. Non-retryable, naming whose URL it is.
 */
export function checkEndpointUrl(url: string, whose: string): void {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw typedFailure({ type: ErrorType.InvalidConfig, nonRetryable: true, message: `${whose}: baseUrl ${JSON.stringify(url)} is not a URL; give http(s)://host[:port]/v1` });
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw typedFailure({
      type: ErrorType.InvalidConfig,
      nonRetryable: true,
      message: `${whose}: baseUrl ${JSON.stringify(url)} has scheme "${protocol.replace(/:$/, '')}"; only http and https are supported`,
    });
  }
}

export function createOpenAIModel(opts: OpenAIModelOptions): ChatModel {
  const { name, config, cache } = opts;
  if (config.provider !== 'openai') {
    throw typedFailure({ type: ErrorType.InvalidConfig, nonRetryable: true, message: `model "${name}" has provider "${config.provider}", not "openai"` });
  }
  const baseUrl = normalizeBaseUrl(config.baseUrl);
  checkEndpointUrl(baseUrl, `model "${name}"`);
  const endpoint = `${baseUrl}/chat/completions`;
  const limiter = opts.limiter ?? limiterForModel(config, opts.clock);
  const maxAttempts = Math.max(1, opts.maxAttempts ?? 5);
  const backoffBaseMs = opts.backoffBaseMs ?? 500;
  const backoffMaxMs = opts.backoffMaxMs ?? 20_000;
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? 60_000;
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? Math.random;
  const where = `model "${name}" (${config.model} at ${endpoint})`;

  // Made on the first cache miss, so a fully cached run needs no key at all.
  let client: OpenAI | undefined;
  let apiKey: string | undefined = opts.apiKey;
  // The placeholder sent to keyless servers is no secret: redacting it would only garble messages.
  const secrets = () => (apiKey === PLACEHOLDER_API_KEY ? [] : [apiKey]);
  function getClient(): OpenAI {
    if (!client) {
      apiKey ??= resolveApiKey(config);
      client = new OpenAI({ apiKey, baseURL: baseUrl, maxRetries: 0, timeout: config.timeoutMs, logLevel: 'off', fetch: keepAliveFetch });
    }
    return client;
  }

  function backoffMs(attempt: number): number {
    const exp = Math.min(backoffMaxMs, backoffBaseMs * 2 ** (attempt - 1));
    return Math.round(exp / 2 + random() * (exp / 2));
  }

  function failure(c: ClassifiedError, attempts: number, retryable: boolean, nextRetryDelayMs?: number): TypedFailure {
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    return typedFailure({
      type: c.type,
      nonRetryable: !retryable,
      message: redact(`${where} failed${tries}: ${c.reason}`, secrets()),
      details: [{ model: name, endpoint, status: c.status ?? null, code: c.code ?? null, attempts }],
      nextRetryDelay: nextRetryDelayMs !== undefined ? Math.ceil(nextRetryDelayMs) : undefined,
    });
  }

  // Completion tokens are unknown before the reply: guess their running mean for the token pacer,
  // which is corrected by the reply's usage.
  let meanCompletion = 128;

  async function fetchCompletion(messages: ChatMessage[], params: { stop?: string[]; maxTokens: number; temperature: number }, signal?: AbortSignal): Promise<StoredCompletion> {
    const promptText = messages.map((m) => m.content).join('\n');
    const tokens = estimateTokens(promptText) + Math.min(params.maxTokens, Math.ceil(meanCompletion));
    for (let attempt = 1; ; attempt++) {
      let c: ClassifiedError;
      const permit = await limiter.acquire({ tokens, signal });
      try {
        const { data, response } = await getClient()
          .chat.completions.create(
            {
              model: config.model,
              messages,
              // Not max_completion_tokens: vLLM, llama.cpp and older servers read only this, and the cache keys on the request.
              // eslint-disable-next-line @typescript-eslint/no-deprecated
              max_tokens: params.maxTokens,
              temperature: params.temperature,
              ...(params.stop ? { stop: params.stop } : {}),
            },
            { signal, maxRetries: 0 },
          )
          .withResponse();
        let completion: StoredCompletion;
        try {
          completion = readCompletion(data as unknown, promptText);
        } finally {
          permit.done({ kind: 'ok', headers: response.headers, tokens: tokensOf(data) });
        }
        meanCompletion = meanCompletion * 0.9 + completion.completionTokens * 0.1;
        return completion;
      } catch (err) {
        permit.done({ kind: err instanceof APIError && err.status === 429 ? 'rate-limited' : 'error', headers: err instanceof APIError ? err.headers : undefined });
        // Cancellation is not a model failure: let the caller's reason through untouched.
        if (signal?.aborted) throw signal.reason;
        if (isTypedFailure(err)) throw err;
        c = classifyOpenAIError(err);
      }
      if (!c.retryable) throw failure(c, attempt, false);
      if (c.retryAfterMs !== undefined && c.retryAfterMs > maxRetryAfterMs) throw failure(c, attempt, true, c.retryAfterMs);
      if (attempt >= maxAttempts) throw failure(c, attempt, true, c.retryAfterMs);
      let delayMs: number;
      if (c.retryAfterMs !== undefined) {
        // The server's wait is a floor; a little jitter keeps parallel callers from returning together.
        delayMs = Math.ceil(c.retryAfterMs + random() * Math.min(250, c.retryAfterMs * 0.1));
        limiter.pause(c.retryAfterMs);
      } else {
        delayMs = backoffMs(attempt);
      }
      opts.onRetry?.({ attempt, delayMs, reason: redact(c.reason, secrets()) });
      await clock.sleep(delayMs, signal);
    }
  }

  return {
    name,
    provider: config.provider,
    model: config.model,
    async complete(request: ChatRequest, signal?: AbortSignal): Promise<ChatResponse> {
      const { key, messages, stop, maxTokens, temperature } = completionRequest(config, cache.keyOf, request);
      const { value, cached } = await cache.memo(key, () => fetchCompletion(messages, { stop, maxTokens, temperature }, signal));
      return chatResponse(value, cached);
    },
  };
}

/** Provider `openai`: any OpenAI-compatible endpoint, every call through the content-addressed cache. */
export const openaiProvider: ModelProvider = async ({ name, config, env, cache }) => createOpenAIModel({ name, config, apiKey: resolveApiKey(config, env), cache });
