// The "local" search backend: BM25 over an in-process index, answering with the best document's text.
import { buildLocalIndex, loadCorpusJsonl, type LocalIndex } from './local-index';
import { noResultsObservation } from './observation';
import type { SearchBackend, SearchBackendFactory, SearchRequest, SearchResult } from './types';

export interface LocalSearchOptions {
  index: LocalIndex;
  /** Documents joined into the observation; 1 mimics a search engine's top snippet. */
  topK?: number;
}

export function createLocalSearch(options: LocalSearchOptions): SearchBackend {
  const { index } = options;
  const topK = options.topK ?? 1;
  if (!Number.isInteger(topK) || topK < 1) throw new RangeError(`topK must be a positive integer, got ${topK}`);

  return {
    name: 'local',
    // async so that an abort, like every other failure, arrives as a rejection.
    async search(request: SearchRequest, signal?: AbortSignal): Promise<SearchResult> {
      signal?.throwIfAborted();
      // Ask for spares: a corpus of recorded snippets repeats itself, and repeats add nothing.
      const hits = index.search(request.query, topK === 1 ? 1 : topK * 4);
      const texts: string[] = [];
      for (const hit of hits) {
        const text = hit.text.trim();
        if (!texts.includes(text)) texts.push(text);
        if (texts.length === topK) break;
      }
      const observation = texts.length > 0 ? texts.join(' ') : noResultsObservation(request.query);
      return { observation, backend: 'local', cached: false };
    },
  };
}

/** Backend `local`: the config's JSONL corpus, or else the snippets recorded in the FireAct files. */
export const localSearchBackend: SearchBackendFactory = async ({ config, replayLibrary }) => {
  const docs = config.corpus ? await loadCorpusJsonl(config.corpus) : (await replayLibrary(config.replayFiles)).snippets().map((text, i) => ({ id: String(i), text }));
  return createLocalSearch({ index: buildLocalIndex(docs) });
};
