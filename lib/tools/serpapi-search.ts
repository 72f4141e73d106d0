// Google search through SerpAPI, reduced to one snippet the way the FireAct/ReAct search tool reduces it.
import { searchKeyEnv } from '../../core/config';
import { ErrorType, typedFailure } from '../../core/errors';
import { withSearchCache } from '../cache/cached-search';
import { redact } from '../models/http-common';
import { endpointUrl, getJson, isRecord, toolFailed, type FetchImpl } from './http';
import { noResultsObservation, squeezeWhitespace } from './observation';
import type { SearchBackend, SearchBackendFactory, SearchRequest, SearchResult } from './types';

export interface SerpApiSearchOptions {
  baseUrl?: string;
  apiKey: string;
  timeoutMs: number;
  fetchImpl?: FetchImpl;
}

// SerpAPI answers 200 with this kind of error when Google simply found nothing.
const EMPTY_RESULT_ERROR = /hasn't returned any results|no results/i;

export function createSerpApiSearch(options: SerpApiSearchOptions): SearchBackend {
  const { apiKey, timeoutMs, fetchImpl } = options;
  if (!apiKey) {
    throw typedFailure({ type: ErrorType.MissingSecret, message: 'SerpAPI search needs an API key', nonRetryable: true });
  }
  const endpoint = endpointUrl(options.baseUrl ?? 'https://serpapi.com', 'search.json');

  return {
    name: 'serpapi',
    async search(request: SearchRequest, signal?: AbortSignal): Promise<SearchResult> {
      const url = new URL(endpoint);
      // The same parameters FireAct sent, so observations stay comparable with the recorded ones.
      url.search = new URLSearchParams({
        engine: 'google',
        q: request.query,
        api_key: apiKey,
        google_domain: 'google.com',
        gl: 'us',
        hl: 'en',
      }).toString();
      const body = await getJson({
        service: 'SerpAPI',
        url,
        timeoutMs,
        signal,
        fetchImpl,
        secrets: [apiKey],
        authHint: 'check the SerpAPI key',
      });
      const observation = serpApiObservation(body);
      if (observation !== undefined) return { observation, backend: 'serpapi', cached: false };

      const error = isRecord(body) && typeof body.error === 'string' ? body.error : undefined;
      if (error && !EMPTY_RESULT_ERROR.test(error)) {
        throw toolFailed(redact(`SerpAPI reported an error for "${request.query}": ${error}`, [apiKey]), false);
      }
      return { observation: noResultsObservation(request.query), backend: 'serpapi', cached: false };
    },
  };
}

/**
 * The one snippet FireAct's tool kept from a results page: the answer box (answer, then snippet, then
 * the first highlighted words), else the knowledge graph's description, else the first organic snippet.
 * undefined when the page holds none of them.
 */
export function serpApiObservation(body: unknown): string | undefined {
  if (!isRecord(body)) return undefined;
  // answer_box is occasionally a list of boxes; the first is the one shown on top.
  const box = Array.isArray(body.answer_box) ? body.answer_box[0] : body.answer_box;
  if (isRecord(box)) {
    const fromBox = text(box.answer) ?? text(box.snippet) ?? (Array.isArray(box.snippet_highlighted_words) ? text(box.snippet_highlighted_words[0]) : undefined);
    if (fromBox) return fromBox;
  }
  if (isRecord(body.knowledge_graph)) {
    const description = text(body.knowledge_graph.description);
    if (description) return description;
  }
  if (Array.isArray(body.organic_results)) {
    for (const result of body.organic_results) {
      const snippet = isRecord(result) ? text(result.snippet) : undefined;
      if (snippet) return snippet;
    }
  }
  return undefined;
}

function text(value: unknown): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const squeezed = squeezeWhitespace(String(value));
  return squeezed || undefined;
}

/** Backend `serpapi`: the key comes from the worker's environment (`searchKeyEnv`). */
export const serpApiSearchBackend: SearchBackendFactory = async ({ config, env, cache }) => {
  const keyEnv = searchKeyEnv(config);
  const apiKey = env[keyEnv];
  if (!apiKey) {
    throw typedFailure({ type: ErrorType.MissingSecret, message: `search backend serpapi needs the environment variable ${keyEnv} on the worker`, nonRetryable: true });
  }
  return withSearchCache(createSerpApiSearch({ baseUrl: config.baseUrl, apiKey, timeoutMs: config.timeoutMs }), cache, config.baseUrl ?? 'serpapi');
};
