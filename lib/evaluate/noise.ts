// Tool noise for the robustness evaluation FireAct ran: the same agent, with a search tool that
// finds nothing, or one that answers with a snippet belonging to some other query.
import { createHash } from 'node:crypto';
import { ErrorType, typedFailure } from '../../core/errors';
import { noResultsObservation } from '../tools/observation';
import type { SearchBackend, SearchRequest, SearchResult } from '../tools/types';

/** A search that never finds anything; the wrapped backend is never called (nothing is spent). */
export function emptySearch(backend: SearchBackend): SearchBackend {
  const name = `${backend.name}+empty`;
  return {
    name,
    // async so that an abort arrives as a rejection, as from every other backend.
    async search(request: SearchRequest, signal?: AbortSignal): Promise<SearchResult> {
      signal?.throwIfAborted();
      return { observation: noResultsObservation(request.query), backend: name, cached: false };
    },
  };
}

/** A position in [0, size) fixed by (seed, query): the first 48 bits of sha256 modulo size. */
export function snippetIndex(seed: number, query: string, size: number): number {
  const digest = createHash('sha256').update(`${seed}\u0000${query}`).digest();
  return digest.readUIntBE(0, 6) % size;
}

/**
 * A search that answers each query with a snippet from `snippets` chosen by hash(seed, query), so a
 * query always gets the same wrong snippet. The wrapped backend is asked first only so that its real
 * answer is never the one handed out: if the pick equals it, the next snippet is taken instead.
 * A failing backend does not matter here (the pick stands); a cancelled call still ends the search.
 */
export function randomSnippetSearch(backend: SearchBackend, snippets: readonly string[], seed: number): SearchBackend {
  const pool = [...new Set(snippets)];
  if (pool.length === 0) {
    throw typedFailure({ type: ErrorType.InvalidConfig, message: 'random-snippet search needs at least one snippet', nonRetryable: true });
  }
  const name = `${backend.name}+random`;
  return {
    name,
    async search(request: SearchRequest, signal?: AbortSignal): Promise<SearchResult> {
      signal?.throwIfAborted();
      let real: string | undefined;
      try {
        real = (await backend.search(request, signal)).observation;
      } catch (err) {
        if (signal?.aborted) throw err;
      }
      let i = snippetIndex(seed, request.query, pool.length);
      if (pool[i] === real && pool.length > 1) i = (i + 1) % pool.length;
      return { observation: pool[i], backend: name, cached: false };
    },
  };
}
