// Builds (and memoises per process) the clients an experiment's activities use: models, search,
// cache, artifact store. Tests pass their own provider; secrets come from the worker's environment only.
import path from 'node:path';
import { searchKeyEnv, type ExperimentConfig } from '../../core/config';
import { ErrorType, typedFailure } from '../../core/errors';
import { createArtifactStore, type ArtifactStore } from '../artifacts/store';
import { withSearchCache } from '../cache/cached-search';
import { createContentCache, type ContentCache } from '../cache/content-cache';
import { memoise } from '../cache/memo';
import { createOpenAIModel, resolveApiKey } from '../models/openai-model';
import type { ChatModel } from '../models/types';
import { createReplayLibraryCache, type ReplayLibrary } from '../replay/library';
import { FINETUNE_FILES } from '../replay/recordings';
import { createReplayModel } from '../replay/replay-model';
import { createReplaySearch } from '../replay/replay-search';
import { buildLocalIndex, loadCorpusJsonl } from '../tools/local-index';
import { createLocalSearch } from '../tools/local-search';
import { createSerpApiSearch } from '../tools/serpapi-search';
import type { SearchBackend } from '../tools/types';
import { createWikipediaSearch } from '../tools/wikipedia-search';

export interface ClientProvider {
  store(config: ExperimentConfig): ArtifactStore;
  model(config: ExperimentConfig, name: string): Promise<ChatModel>;
  search(config: ExperimentConfig): Promise<SearchBackend>;
  replayLibrary(config: ExperimentConfig, files?: readonly string[]): Promise<ReplayLibrary>;
  /** The content-addressed cache of model calls, one per cache folder and process. */
  modelCache(config: ExperimentConfig): ContentCache;
}

export function createClientProvider(env: NodeJS.ProcessEnv = process.env): ClientProvider {
  const libraries = createReplayLibraryCache();
  const memo = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, make: () => Promise<T>): Promise<T> => memoise(memo, key, make) as Promise<T>;
  const caches = new Map<string, ReturnType<typeof createContentCache>>();
  const cacheFor = (dir: string) => {
    if (!caches.has(dir)) caches.set(dir, createContentCache(dir));
    return caches.get(dir)!;
  };

  const provider: ClientProvider = {
    store: (config) => createArtifactStore(config.artifactDir),
    replayLibrary: (config, files) => libraries(config.dataDir, files ?? [...FINETUNE_FILES]),
    modelCache: (config) => cacheFor(path.join(config.cacheDir, 'models')),

    model(config, name) {
      const mc = config.models[name];
      if (!mc) {
        return Promise.reject(typedFailure({ type: ErrorType.InvalidConfig, message: `unknown model "${name}"`, nonRetryable: true }));
      }
      return once(`model\u0000${name}\u0000${JSON.stringify(mc)}\u0000${config.dataDir}\u0000${config.cacheDir}`, async () => {
        if (mc.provider === 'replay') {
          return createReplayModel(name, mc.model, await provider.replayLibrary(config, mc.replayFiles));
        }
        return createOpenAIModel({ name, config: mc, apiKey: resolveApiKey(mc, env), cache: provider.modelCache(config) });
      });
    },

    search(config) {
      const sc = config.search;
      return once(`search\u0000${JSON.stringify(sc)}\u0000${config.dataDir}\u0000${config.cacheDir}`, async () => {
        const cache = cacheFor(path.join(config.cacheDir, 'search'));
        const local = async () => {
          const docs = sc.corpus
            ? await loadCorpusJsonl(sc.corpus)
            : (await provider.replayLibrary(config, sc.replayFiles))
                .snippets()
                .map((text, i) => ({ id: String(i), text }));
          return createLocalSearch({ index: buildLocalIndex(docs) });
        };
        switch (sc.backend) {
          case 'replay': {
            const lib = await provider.replayLibrary(config, sc.replayFiles);
            return createReplaySearch(lib, sc.fallback === 'local' ? await local() : undefined);
          }
          case 'local':
            return local();
          case 'serpapi': {
            const keyEnv = searchKeyEnv(sc);
            const apiKey = env[keyEnv];
            if (!apiKey) {
              throw typedFailure({ type: ErrorType.MissingSecret, message: `search backend serpapi needs the environment variable ${keyEnv} on the worker`, nonRetryable: true });
            }
            return withSearchCache(createSerpApiSearch({ baseUrl: sc.baseUrl, apiKey, timeoutMs: sc.timeoutMs }), cache, sc.baseUrl ?? 'serpapi');
          }
          case 'wikipedia':
            return withSearchCache(createWikipediaSearch({ baseUrl: sc.baseUrl, timeoutMs: sc.timeoutMs }), cache, sc.baseUrl ?? 'wikipedia');
        }
      });
    },
  };
  return provider;
}
