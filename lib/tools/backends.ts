// Search backends by name (config.search.backend). Adding one: its module (a `SearchBackendFactory`),
// its name in core/names.ts, and its line here; either without the other is a type error.
import type { SearchBackendName } from '../../core/names';
import { replaySearchBackend } from '../replay/replay-search';
import { localSearchBackend } from './local-search';
import { serpApiSearchBackend } from './serpapi-search';
import type { SearchBackendFactory } from './types';
import { wikipediaSearchBackend } from './wikipedia-search';

export const SEARCH_BACKEND_REGISTRY = {
  replay: replaySearchBackend,
  local: localSearchBackend,
  serpapi: serpApiSearchBackend,
  wikipedia: wikipediaSearchBackend,
} satisfies Record<SearchBackendName, SearchBackendFactory>;
