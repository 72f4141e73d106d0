// Per-process memo of what prepare froze: the experiment's config and its question samples.
import { parseExperimentConfig, type ExperimentConfig } from '../../core/config';
import type { Question } from '../../core/trajectory';
import { createArtifactStore } from '../artifacts/store';
import { memoise } from '../cache/memo';
import type { ClientProvider } from './clients';
import { layout } from './layout';

export interface ExperimentHandle {
  experiment: string;
  /** Absolute artifact folder (the frozen config lives under it). */
  artifactDir: string;
  /** sha256 of the frozen config: a run that rewrites it (`fireact resume --new --config`) gets a fresh cache entry. */
  configSha?: string;
  /** The config's blockedAfterSeconds in ms: the worker ends an activity stuck this long as `Blocked` (absent in old histories: never). */
  blockedAfterMs?: number;
}

export function createFrozenState(clients: ClientProvider) {
  const configs = new Map<string, Promise<ExperimentConfig>>();
  const samples = new Map<string, Promise<Question[]>>();
  return {
    config: (handle: ExperimentHandle) =>
      memoise(configs, `${handle.artifactDir}\u0000${handle.experiment}\u0000${handle.configSha ?? ''}`, () =>
        createArtifactStore(handle.artifactDir)
          .readJson(layout.config(handle.experiment))
          .then((raw) => parseExperimentConfig(raw)),
      ),
    sample: (config: ExperimentConfig, rel: string) =>
      memoise(samples, `${config.artifactDir}\u0000${rel}`, () =>
        clients
          .store(config)
          .readJson<{ questions: Question[] }>(rel)
          .then((f) => f.questions),
      ),
  };
}

export type FrozenState = ReturnType<typeof createFrozenState>;
