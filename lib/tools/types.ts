// What the agent loop needs from a search tool.
import type { SearchConfig } from '../../core/config';
import type { ContentCache } from '../cache/content-cache';
import type { ReplayLibrary } from '../replay/library';

export interface SearchRequest {
  query: string;
  /** Replay uses the question to find the recording; real backends ignore it. */
  context?: { task: string; questionText: string; method: string };
}

export interface SearchResult {
  observation: string;
  backend: string;
  /** Answered from the content-addressed cache. */
  cached: boolean;
}

export interface SearchBackend {
  readonly name: string;
  search(request: SearchRequest, signal?: AbortSignal): Promise<SearchResult>;
}

/** What a search backend gets to build itself from the config's `search` block (see `SEARCH_BACKEND_REGISTRY`). */
export interface SearchBackendContext {
  config: SearchConfig;
  /** The worker's environment, where secrets are read by variable name. */
  env: NodeJS.ProcessEnv;
  /** The content-addressed cache of search calls. */
  cache: ContentCache;
  replayLibrary(files?: readonly string[]): Promise<ReplayLibrary>;
}

export type SearchBackendFactory = (ctx: SearchBackendContext) => Promise<SearchBackend>;
