// Search backend "replay": the observation the teacher saw for this query, else the fallback backend.
import type { SearchBackend, SearchRequest, SearchResult } from '../tools/types';
import type { ReplayLibrary } from './library';

export function createReplaySearch(library: ReplayLibrary, fallback?: SearchBackend): SearchBackend {
  return {
    name: 'replay',
    async search(request: SearchRequest, signal?: AbortSignal): Promise<SearchResult> {
      const hit = library.observationFor(request.query, request.context?.questionText);
      if (hit !== undefined) return { observation: hit, backend: 'replay', cached: false };
      if (fallback) return fallback.search(request, signal);
      return { observation: `No results found for "${request.query}".`, backend: 'replay', cached: false };
    },
  };
}
