// Stage build-datasets: one dataset per configured mix.
import type { ArtifactRef } from '../core/artifacts';
import type { DatasetMix } from '../core/config';
import type { TrajectoryRecord } from '../core/trajectory';
import type { ArtifactWriter } from '../lib/artifacts/store';
import { alpacaClose, chooseMix, mixCandidate, mixCounts, renderMixRecord, throwIfProblems, type MixCandidate, type MixProblem } from '../lib/datasets/build';
import type { ClientProvider } from '../lib/experiment/clients';
import type { ExperimentHandle, FrozenState } from '../lib/experiment/frozen';
import { layout } from '../lib/experiment/layout';
import type { DatasetResult } from './contracts';
import { progressTicker, startHeartbeat } from './heartbeat';

export function createDatasetActivities(deps: { clients: ClientProvider; frozen: FrozenState }) {
  const { clients } = deps;
  const frozenConfig = deps.frozen.config;
  return {
    /**
     * Writes each configured mix as OpenAI chat JSONL and Alpaca JSON, with counts and sha256. Streams
     * the curated file twice (which records each mix takes, then their texts), never holding it whole.
     */
    async buildDatasets(input: { handle: ExperimentHandle; curated: ArtifactRef }): Promise<DatasetResult[]> {
      const config = await frozenConfig(input.handle);
      const store = clients.store(config);
      const exp = input.handle.experiment;
      const progress = { read: 0, written: 0 };
      const heartbeat = startHeartbeat(progress);
      const tick = progressTicker(heartbeat, progress);
      const mixes: Array<{ mix: DatasetMix; chosen: MixCandidate[]; position: Map<string, number>; writers: Partial<Record<'openai' | 'alpaca', ArtifactWriter>> }> = [];
      const problems: MixProblem[] = [];
      try {
        const candidates: MixCandidate[] = [];
        for await (const r of store.jsonlRows<TrajectoryRecord>(input.curated)) {
          candidates.push(mixCandidate(r));
          progress.read++;
          await tick();
        }
        for (const mix of config.datasets) {
          const chosen = chooseMix(candidates, mix, config.seed);
          mixes.push({ mix, chosen, position: new Map(chosen.map((c, i) => [c.id, i])), writers: {} });
        }
        for (const m of mixes) {
          if (m.mix.formats.includes('openai')) m.writers.openai = await store.openWriter(layout.dataset(exp, m.mix.name, 'train.openai.jsonl'));
          if (m.mix.formats.includes('alpaca')) m.writers.alpaca = await store.openWriter(layout.dataset(exp, m.mix.name, 'train.alpaca.json'));
        }
        for await (const record of store.jsonlRows<TrajectoryRecord>(input.curated)) {
          for (const m of mixes) {
            const at = m.position.get(record.id);
            if (at === undefined) continue;
            const r = renderMixRecord(record, m.mix, at);
            problems.push(...r.problems);
            if (r.openai !== undefined) await m.writers.openai?.write(r.openai);
            if (r.alpaca !== undefined) await m.writers.alpaca?.write(r.alpaca);
          }
          progress.written++;
          await tick();
        }
        throwIfProblems(problems);
        const results: DatasetResult[] = [];
        for (const m of mixes) {
          const counts = mixCounts(m.chosen);
          const files: DatasetResult['files'] = {};
          if (m.writers.openai) files.openai = await m.writers.openai.close(counts.total);
          if (m.writers.alpaca) {
            await m.writers.alpaca.write(alpacaClose(counts.total));
            files.alpaca = await m.writers.alpaca.close(counts.total);
          }
          m.writers = {};
          const result: DatasetResult = { name: m.mix.name, records: counts.total, byTask: counts.byTask, byMethod: counts.byMethod, files };
          await store.writeJson(layout.dataset(exp, m.mix.name, 'manifest.json'), { ...result, tasks: m.mix.tasks, methods: m.mix.methods });
          results.push(result);
        }
        return results;
      } finally {
        for (const m of mixes) for (const w of Object.values(m.writers)) await w.abort();
        heartbeat.stop();
      }
    },
  };
}
