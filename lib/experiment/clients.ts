// Builds (and memoises per process) the clients an experiment's activities use: models, search,
// cache, artifact store. Tests pass their own provider; secrets come from the worker's environment only.
import path from 'node:path';
import type { ExperimentConfig } from '../../core/config';
import { ErrorType, typedFailure } from '../../core/errors';
import { createArtifactStore, type ArtifactStore } from '../artifacts/store';
import { createContentCache, type ContentCache, type ContentCacheOptions } from '../cache/content-cache';
import { memoise } from '../cache/memo';
import { MODEL_PROVIDER_REGISTRY } from '../models/providers';
import type { ChatModel } from '../models/types';
import { createReplayLibraryCache, type ReplayLibrary } from '../replay/library';
import { FINETUNE_FILES } from '../replay/recordings';
import { SEARCH_BACKEND_REGISTRY } from '../tools/backends';
import type { SearchBackend } from '../tools/types';

export interface ClientProvider {
  store(config: ExperimentConfig): ArtifactStore;
  model(config: ExperimentConfig, name: string): Promise<ChatModel>;
  search(config: ExperimentConfig): Promise<SearchBackend>;
  replayLibrary(config: ExperimentConfig, files?: readonly string[]): Promise<ReplayLibrary>;
  /** The content-addressed cache of model calls, one per cache folder and process. */
  modelCache(config: ExperimentConfig): ContentCache;
  /** Takes in what other processes stored in the config's model and search caches until now (see ContentCache.sync). */
  syncCaches(config: ExperimentConfig): Promise<void>;
}

export function createClientProvider(env: NodeJS.ProcessEnv = process.env, options: { cache?: ContentCacheOptions } = {}): ClientProvider {
  const libraries = createReplayLibraryCache();
  const memo = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, make: () => Promise<T>): Promise<T> => memoise(memo, key, make) as Promise<T>;
  const caches = new Map<string, ReturnType<typeof createContentCache>>();
  const cacheFor = (dir: string) => {
    if (!caches.has(dir)) caches.set(dir, createContentCache(dir, options.cache));
    return caches.get(dir)!;
  };

  const searchCache = (config: ExperimentConfig) => cacheFor(path.join(config.cacheDir, 'search'));

  const provider: ClientProvider = {
    store: (config) => createArtifactStore(config.artifactDir),
    replayLibrary: (config, files) => libraries(config.dataDir, files ?? [...FINETUNE_FILES]),
    modelCache: (config) => cacheFor(path.join(config.cacheDir, 'models')),
    syncCaches: async (config) => {
      await Promise.all([provider.modelCache(config).sync(), searchCache(config).sync()]);
    },

    model(config, name) {
      const mc = config.models[name];
      if (!mc) {
        return Promise.reject(typedFailure({ type: ErrorType.InvalidConfig, message: `unknown model "${name}"`, nonRetryable: true }));
      }
      return once(`model\u0000${name}\u0000${JSON.stringify(mc)}\u0000${config.dataDir}\u0000${config.cacheDir}`, () =>
        MODEL_PROVIDER_REGISTRY[mc.provider]({ name, config: mc, env, cache: provider.modelCache(config), replayLibrary: (files) => provider.replayLibrary(config, files) }),
      );
    },

    search(config) {
      const sc = config.search;
      return once(`search\u0000${JSON.stringify(sc)}\u0000${config.dataDir}\u0000${config.cacheDir}`, () =>
        SEARCH_BACKEND_REGISTRY[sc.backend]({ config: sc, env, cache: searchCache(config), replayLibrary: (files) => provider.replayLibrary(config, files) }),
      );
    },
  };
  return provider;
}
