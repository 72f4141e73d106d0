// Search backend "replay": the observation the teacher saw for this query, else the fallback backend.
import { localSearchBackend } from '../tools/local-search';
import type { SearchBackend, SearchBackendFactory, SearchRequest, SearchResult } from '../tools/types';
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

/** Backend `replay`: the recorded observations, and for a query never recorded the `local` backend (unless `fallback: none`). */
export const replaySearchBackend: SearchBackendFactory = async (ctx) =>
  createReplaySearch(await ctx.replayLibrary(ctx.config.replayFiles), ctx.config.fallback === 'local' ? await localSearchBackend(ctx) : undefined);
