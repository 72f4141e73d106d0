// The one classification of what the `openai` client throws, for chat calls and fine-tuning alike: auth, bad
// request and not-found are final; rate limits, 5xx, broken connections and broken bodies are worth a retry.
import { APIError, APIUserAbortError, OpenAIError } from 'openai';
import { ErrorType, isTypedFailure, typedFailure, type TypedFailure } from '../../core/errors';
import { parseRetryAfterMs, redact } from './http-common';
import { parseRateLimitHeaders } from './limiter';

export interface ClassifiedError {
  type: ErrorType;
  retryable: boolean;
  reason: string;
  /** How long the server asked to wait (Retry-After, or the advertised reset of an exhausted rate limit). */
  retryAfterMs?: number;
  status?: number;
  code?: string;
}

/** A 2xx reply whose body is not a usable completion. */
export class MalformedResponse extends Error {}

export function classifyOpenAIError(err: unknown): ClassifiedError {
  if (err instanceof MalformedResponse) return { retryable: true, type: ErrorType.ModelUnavailable, reason: `malformed response: ${err.message}` };
  if (err instanceof SyntaxError) return { retryable: true, type: ErrorType.ModelUnavailable, reason: `malformed response: body is not valid JSON (${err.message})` };
  if (err instanceof APIError && !(err instanceof APIUserAbortError)) {
    const status = err.status;
    const serverMessage = (err.error as { message?: unknown } | undefined)?.message;
    const detail = typeof serverMessage === 'string' ? serverMessage : err.message;
    const code = typeof err.code === 'string' ? err.code : undefined;
    if (status === undefined) {
      // No HTTP answer: refused, reset or timed out.
      return { retryable: true, type: ErrorType.ModelUnavailable, reason: `connection failed: ${detail}` };
    }
    const base = { status, code, reason: `HTTP ${status}: ${detail}` };
    let retryAfterMs = parseRetryAfterMs(err.headers);
    if (status === 429) {
      // No Retry-After: the advertised reset of whichever budget ran out is the next best floor.
      if (retryAfterMs === undefined) {
        const h = parseRateLimitHeaders(err.headers);
        const resets = [h.remainingRequests === 0 ? h.resetRequestsMs : undefined, h.remainingTokens === 0 ? h.resetTokensMs : undefined].filter((v) => v !== undefined);
        if (resets.length) retryAfterMs = Math.max(...resets);
      }
      // Quota exhaustion also comes as 429, but no wait fixes it.
      if (code === 'insufficient_quota') return { ...base, retryable: false, type: ErrorType.ModelRateLimited };
      return { ...base, retryable: true, type: ErrorType.ModelRateLimited, retryAfterMs };
    }
    if (status >= 500 || status === 408 || status === 409) return { ...base, retryable: true, type: ErrorType.ModelUnavailable, retryAfterMs };
    if (status === 401 || status === 403) return { ...base, retryable: false, type: ErrorType.ModelAuth };
    if (status === 404) return { ...base, retryable: false, type: ErrorType.ModelNotFound };
    return { ...base, retryable: false, type: ErrorType.ModelBadRequest };
  }
  if (err instanceof OpenAIError) return { retryable: false, type: ErrorType.ModelBadRequest, reason: `client error: ${err.message}` };
  // Anything else came from the transport (fetch body stream cut, etc.).
  return { retryable: true, type: ErrorType.ModelUnavailable, reason: `unexpected error: ${(err as Error)?.message ?? String(err)}` };
}

/** The typed failure for a classified error; the API key is cut out of the message, whatever the server echoed. */
export function toFailure(c: ClassifiedError, what: string, apiKey: string | undefined): TypedFailure {
  return typedFailure({
    type: c.type,
    nonRetryable: !c.retryable,
    message: redact(`${what} failed: ${c.reason}`, [apiKey]),
    details: [{ status: c.status ?? null, code: c.code ?? null }],
  });
}

/** Runs one SDK call; cancellation passes through untouched, everything else becomes a typed failure naming `what`. */
export async function openAICall<T>(what: string, apiKey: string | undefined, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (isTypedFailure(err)) throw err;
    throw toFailure(classifyOpenAIError(err), what, apiKey);
  }
}
