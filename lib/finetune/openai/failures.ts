// The project's typed failures for the fine-tuning API: what the `openai` client throws is classified by the
// one classifier (models/openai-errors.ts); the API key is cut out of every message, whatever the server echoed.
import { isTypedFailure, typedFailure, type TypedFailure } from '../../../core/errors';
import { redact } from '../../models/http-common';
import { classifyOpenAIError, type ClassifiedError } from '../../models/openai-errors';

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
