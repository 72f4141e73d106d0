// Wraps any search backend in the content-addressed cache, so a retried episode re-asks nothing.
import type { SearchBackend, SearchRequest, SearchResult } from '../tools/types';
import type { ContentCache } from './content-cache';

/** What is stored: the answer without the per-call `cached` flag. */
interface StoredSearch {
  observation: string;
  backend: string;
}

/**
 * `scope` separates answers that must not be shared under one backend name (e.g. a corpus path or
 * endpoint); the request's context is not part of the key, so a backend whose answer depends on the
 * question (replay) needs that in its scope, or should not be wrapped.
 */
export function withSearchCache(backend: SearchBackend, cache: ContentCache, scope: string): SearchBackend {
  return {
    name: backend.name,
    async search(request: SearchRequest, signal?: AbortSignal): Promise<SearchResult> {
      const key = cache.keyOf({ kind: 'search', scope, backend: backend.name, query: request.query });
      const { value, cached } = await cache.memo<StoredSearch>(key, async () => {
        const r = await backend.search(request, signal);
        return { observation: r.observation, backend: r.backend };
      });
      return { observation: value.observation, backend: value.backend, cached };
    },
  };
}
