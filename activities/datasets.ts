// Stage build-datasets: one dataset per configured mix.
import type { ArtifactRef } from '../core/artifacts';
import type { TrajectoryRecord } from '../core/trajectory';
import { buildDatasetMix } from '../lib/datasets/build';
import type { ClientProvider } from '../lib/experiment/clients';
import type { ExperimentHandle, FrozenState } from '../lib/experiment/frozen';
import { layout } from '../lib/experiment/layout';
import type { DatasetResult } from './contracts';

export function createDatasetActivities(deps: { clients: ClientProvider; frozen: FrozenState }) {
  const { clients } = deps;
  const frozenConfig = deps.frozen.config;
  return {
    /** Writes each configured mix as OpenAI chat JSONL and Alpaca JSON, with counts and sha256. */
    async buildDatasets(input: { handle: ExperimentHandle; curated: ArtifactRef }): Promise<DatasetResult[]> {
      const config = await frozenConfig(input.handle);
      const store = clients.store(config);
      const exp = input.handle.experiment;
      const records = (await store.readRef(input.curated))
        .split('\n')
        .filter((l) => l)
        .map((l) => JSON.parse(l) as TrajectoryRecord);
      const results: DatasetResult[] = [];
      for (const mix of config.datasets) {
        const built = buildDatasetMix(records, mix, config.seed);
        const files: DatasetResult['files'] = {};
        if (built.chatJsonl !== undefined) files.openai = await store.writeText(layout.dataset(exp, mix.name, 'train.openai.jsonl'), built.chatJsonl, built.counts.total);
        if (built.alpacaJson !== undefined) files.alpaca = await store.writeText(layout.dataset(exp, mix.name, 'train.alpaca.json'), built.alpacaJson, built.counts.total);
        const result: DatasetResult = { name: mix.name, records: built.counts.total, byTask: built.counts.byTask, byMethod: built.counts.byMethod, files };
        await store.writeJson(layout.dataset(exp, mix.name, 'manifest.json'), { ...result, tasks: mix.tasks, methods: mix.methods });
        results.push(result);
      }
      return results;
    },
  };
}
