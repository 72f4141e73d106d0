// GET-a-JSON-document with a deadline, turning every way it can go wrong into a typed ToolFailed.
// Shared by the HTTP search clients so retry classification and secret scrubbing live in one place.
import { ErrorType, typedFailure, type TypedFailure } from '../../core/errors';
import { keepAliveFetch } from '../net/keepalive-fetch';
import { parseRetryAfterMs, redact } from '../models/http-common';

export type FetchImpl = typeof fetch;

export interface GetJsonOptions {
  /** Names the service in messages, e.g. "SerpAPI". */
  service: string;
  url: URL;
  timeoutMs: number;
  /** The caller's cancellation (e.g. the activity's); its abort propagates as-is, not as ToolFailed. */
  signal?: AbortSignal;
  headers?: Record<string, string>;
  fetchImpl?: FetchImpl;
  /** Values (API keys) scrubbed from every message this helper produces. */
  secrets?: readonly string[];
  /** Appended to the message of a 401/403, e.g. which credential to check. */
  authHint?: string;
}

const BODY_EXCERPT_CHARS = 200;

/**
 * Fetches `url` and parses its JSON body. Non-2xx, timeouts, network errors and non-JSON bodies become
 * ApplicationFailure(ToolFailed): 401/403 and other 4xx are non-retryable; 408, 429, 5xx, timeouts and
 * network errors are retryable (429 carries Retry-After as nextRetryDelay).
 */
export async function getJson(options: GetJsonOptions): Promise<unknown> {
  const { service, url, timeoutMs, signal } = options;
  const fetchImpl = options.fetchImpl ?? keepAliveFetch;
  const scrub = (text: string): string => redact(text, options.secrets ?? []);
  // Never the query string: it carries the API key (and the query is the caller's to report).
  const where = `${url.origin}${url.pathname}`;

  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;

  let status: number;
  let text: string;
  let headers: Headers;
  try {
    const response = await fetchImpl(url, { method: 'GET', headers: { accept: 'application/json', ...options.headers }, signal: combined });
    status = response.status;
    headers = response.headers;
    // Read inside the try: the deadline also covers a body that trickles in.
    text = await response.text();
  } catch (err) {
    if (signal?.aborted) throw signal.reason ?? err;
    if (timeout.aborted) {
      throw toolFailed(scrub(`${service} request to ${where} timed out after ${timeoutMs} ms`), false);
    }
    throw toolFailed(scrub(`${service} request to ${where} failed: ${describeNetworkError(err)}`), false);
  }

  if (status < 200 || status >= 300) {
    const excerpt = scrub(bodyExcerpt(text));
    const detail = excerpt ? `: ${excerpt}` : '';
    if (status === 401 || status === 403) {
      const hint = options.authHint ? ` (${options.authHint})` : '';
      throw toolFailed(scrub(`${service} refused access (HTTP ${status}) at ${where}${hint}${detail}`), true);
    }
    const retryable = status === 408 || status === 429 || status >= 500;
    const nextRetryDelay = status === 429 ? parseRetryAfterMs(headers) : undefined;
    throw toolFailed(scrub(`${service} answered HTTP ${status} at ${where}${detail}`), !retryable, nextRetryDelay);
  }

  try {
    return JSON.parse(text) as unknown;
  } catch {
    // A proxy or captive page rather than the API: worth another try.
    throw toolFailed(scrub(`${service} returned a body that is not JSON at ${where}: ${bodyExcerpt(text)}`), false);
  }
}

export function toolFailed(message: string, nonRetryable: boolean, nextRetryDelay?: number): TypedFailure {
  return typedFailure({ type: ErrorType.ToolFailed, message, nonRetryable, nextRetryDelay });
}

function bodyExcerpt(text: string): string {
  const squeezed = text.replace(/\s+/g, ' ').trim();
  return squeezed.length > BODY_EXCERPT_CHARS ? `${squeezed.slice(0, BODY_EXCERPT_CHARS)}...` : squeezed;
}

function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // undici reports "fetch failed" and puts the useful part (ECONNREFUSED, ENOTFOUND...) in the cause.
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  return cause ? `${err.message} (${cause})` : err.message;
}

/** A plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Resolves `path` under `baseUrl`, keeping any path prefix the base has (e.g. a proxy's /serpapi/). */
export function endpointUrl(baseUrl: string, path: string): URL {
  return new URL(path.replace(/^\//, ''), baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
}
