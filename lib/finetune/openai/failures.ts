// Turns what the `openai` client throws into the project's typed failures: auth, bad request and
// not-found are final; rate limits, 5xx and broken connections are for Temporal to retry. The API key
// is cut out of every message, whatever the server echoed back.
import { APIError, APIUserAbortError, OpenAIError } from 'openai';
import { ErrorType, isTypedFailure, typedFailure, type TypedFailure } from '../../../core/errors';

export interface ClassifiedError {
  type: ErrorType;
  retryable: boolean;
  reason: string;
  status?: number;
  code?: string;
}

export function classifyOpenAIError(err: unknown): ClassifiedError {
  if (err instanceof APIError && !(err instanceof APIUserAbortError)) {
    const status = err.status;
    const serverMessage = (err.error as { message?: unknown } | undefined)?.message;
    const detail = typeof serverMessage === 'string' ? serverMessage : err.message;
    const code = typeof err.code === 'string' ? err.code : undefined;
    if (status === undefined) return { type: ErrorType.ModelUnavailable, retryable: true, reason: `connection failed: ${detail}` };
    const base = { status, code, reason: `HTTP ${status}: ${detail}` };
    if (status === 429) {
      // An exhausted quota is also a 429, but waiting does not refill it.
      return { ...base, type: ErrorType.ModelRateLimited, retryable: code !== 'insufficient_quota' };
    }
    if (status >= 500 || status === 408 || status === 409) return { ...base, type: ErrorType.ModelUnavailable, retryable: true };
    if (status === 401 || status === 403) return { ...base, type: ErrorType.ModelAuth, retryable: false };
    if (status === 404) return { ...base, type: ErrorType.ModelNotFound, retryable: false };
    return { ...base, type: ErrorType.ModelBadRequest, retryable: false };
  }
  if (err instanceof OpenAIError) return { type: ErrorType.ModelBadRequest, retryable: false, reason: `client error: ${err.message}` };
  return { type: ErrorType.ModelUnavailable, retryable: true, reason: `unexpected error: ${(err as Error)?.message ?? String(err)}` };
}

export function redactSecret(text: string, secret: string | undefined): string {
  if (!secret || secret.length < 4) return text;
  return text.split(secret).join('[redacted]');
}

export function toFailure(c: ClassifiedError, what: string, apiKey: string | undefined): TypedFailure {
  return typedFailure({
    type: c.type,
    nonRetryable: !c.retryable,
    message: redactSecret(`${what} failed: ${c.reason}`, apiKey),
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
