// Keyless search over Wikipedia (MediaWiki Action API): the top hit's intro, cut to its first sentences,
// much like the original ReAct Wikipedia tool's observation.
import { withSearchCache } from '../cache/cached-search';
import { endpointUrl, getJson, isRecord, toolFailed, type FetchImpl } from './http';
import { noResultsObservation, squeezeWhitespace } from './observation';
import type { SearchBackend, SearchBackendFactory, SearchRequest, SearchResult } from './types';

export interface WikipediaSearchOptions {
  baseUrl?: string;
  timeoutMs: number;
  /** Sentences of the intro kept in the observation. */
  maxSentences?: number;
  fetchImpl?: FetchImpl;
  /** Wikimedia asks API clients to identify themselves. */
  userAgent?: string;
}

const DEFAULT_USER_AGENT = 'fireact/0.1 (language-agent experiment runner)';
// MediaWiki error codes that a later attempt can get past; every other API error is a bad request.
const RETRYABLE_API_ERRORS = new Set(['maxlag', 'ratelimited', 'readonly']);

export function createWikipediaSearch(options: WikipediaSearchOptions): SearchBackend {
  const { timeoutMs, fetchImpl } = options;
  const maxSentences = options.maxSentences ?? 5;
  const endpoint = endpointUrl(options.baseUrl ?? 'https://en.wikipedia.org', 'w/api.php');
  const headers = { 'user-agent': options.userAgent ?? DEFAULT_USER_AGENT };

  const call = async (params: Record<string, string>, signal: AbortSignal | undefined): Promise<Record<string, unknown>> => {
    const url = new URL(endpoint);
    url.search = new URLSearchParams({ ...params, format: 'json' }).toString();
    const body = await getJson({ service: 'Wikipedia', url, timeoutMs, signal, headers, fetchImpl });
    if (!isRecord(body)) throw toolFailed(`Wikipedia returned an unexpected body for action=${params.action}`, false);
    // The Action API reports its own errors with HTTP 200.
    if (isRecord(body.error)) {
      const code = String(body.error.code ?? 'unknown');
      const info = String(body.error.info ?? '');
      const retryable = RETRYABLE_API_ERRORS.has(code) || code.startsWith('internal_api_error');
      throw toolFailed(`Wikipedia API error ${code}: ${info}`, !retryable);
    }
    return body;
  };

  return {
    name: 'wikipedia',
    async search(request: SearchRequest, signal?: AbortSignal): Promise<SearchResult> {
      const noResults = { observation: noResultsObservation(request.query), backend: 'wikipedia', cached: false };
      const found = await call({ action: 'query', list: 'search', srsearch: request.query, srlimit: '1' }, signal);
      const hit = firstSearchHit(found);
      if (!hit) return noResults;

      const pages = await call(
        { action: 'query', prop: 'extracts', exintro: '1', explaintext: '1', titles: hit.title, redirects: '1' },
        signal,
      );
      // An empty intro (rare) still leaves the search snippet, which is better than nothing.
      const extract = firstExtract(pages) ?? stripSnippetMarkup(hit.snippet);
      const observation = extract ? firstSentences(extract, maxSentences) : '';
      return observation ? { observation, backend: 'wikipedia', cached: false } : noResults;
    },
  };
}

function firstSearchHit(body: Record<string, unknown>): { title: string; snippet: string } | undefined {
  const query = body.query;
  if (!isRecord(query) || !Array.isArray(query.search)) return undefined;
  const hit: unknown = query.search[0];
  if (!isRecord(hit) || typeof hit.title !== 'string' || !hit.title) return undefined;
  return { title: hit.title, snippet: typeof hit.snippet === 'string' ? hit.snippet : '' };
}

function firstExtract(body: Record<string, unknown>): string | undefined {
  const query = body.query;
  if (!isRecord(query)) return undefined;
  // formatversion=1 keys pages by id ("-1" for a missing one); formatversion=2 gives a list.
  const pages: unknown[] = Array.isArray(query.pages) ? query.pages : isRecord(query.pages) ? Object.values(query.pages) : [];
  for (const page of pages) {
    if (isRecord(page) && typeof page.extract === 'string' && page.extract.trim()) return page.extract;
  }
  return undefined;
}

const ENTITIES: Record<string, string> = { '&quot;': '"', '&amp;': '&', '&#039;': "'", '&#39;': "'", '&lt;': '<', '&gt;': '>', '&nbsp;': ' ' };

/** Search snippets come as HTML with <span class="searchmatch"> around the matched words. */
function stripSnippetMarkup(snippet: string): string {
  return squeezeWhitespace(snippet.replace(/<[^>]*>/g, '').replace(/&(quot|amp|#0?39|lt|gt|nbsp);/g, (e) => ENTITIES[e] ?? e));
}

// Words that end in a period without ending the sentence.
const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'st', 'jr', 'sr', 'mt', 'ft', 'no', 'vs', 'etc', 'inc', 'ltd', 'co', 'corp',
  'gen', 'col', 'lt', 'sgt', 'capt', 'rev', 'gov', 'sen', 'rep', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug',
  'sep', 'sept', 'oct', 'nov', 'dec', 'approx', 'ca', 'c', 'e.g', 'i.e', 'vol', 'pp', 'op',
]);

/** The first `n` sentences of `text`, on one line. A heuristic: initials and common abbreviations don't end one. */
export function firstSentences(text: string, n: number): string {
  const flat = squeezeWhitespace(text);
  const boundary = /([.!?])["')\]]*\s+(?=["'(\[]?[\p{Lu}\p{N}])/gu;
  let count = 0;
  for (const match of flat.matchAll(boundary)) {
    const end = match.index + match[0].length;
    if (match[1] === '.' && endsInAbbreviation(flat.slice(0, match.index))) continue;
    count += 1;
    if (count >= n) return flat.slice(0, end).trim();
  }
  return flat;
}

function endsInAbbreviation(before: string): boolean {
  const word = /(\S+)$/.exec(before)?.[1] ?? '';
  const bare = word.replace(/^["'(\[]+/, '').toLowerCase();
  // Single letters and dotted initials: "J. R. R. Tolkien", "U.S".
  if (/^(\p{L}\.)*\p{L}$/u.test(bare)) return true;
  return ABBREVIATIONS.has(bare);
}

/** Backend `wikipedia`: keyless; `baseUrl` may name another MediaWiki. */
export const wikipediaSearchBackend: SearchBackendFactory = async ({ config, cache }) =>
  withSearchCache(createWikipediaSearch({ baseUrl: config.baseUrl, timeoutMs: config.timeoutMs }), cache, config.baseUrl ?? 'wikipedia');
