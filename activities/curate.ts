// Stage curate: read every trajectory of the plan, keep the good ones, count each drop reason.
import { log } from '@temporalio/activity';
import type { MethodName } from '../core/config';
import { addUsage, emptyUsage, trajectoryId, type Question } from '../core/trajectory';
import type { ArtifactWriter } from '../lib/artifacts/store';
import { compareStrings, Curator, type DroppedRecord } from '../lib/curate/curate';
import { loadEvalQuestions } from '../lib/curate/eval-questions';
import type { ClientProvider } from '../lib/experiment/clients';
import type { ExperimentHandle, FrozenState } from '../lib/experiment/frozen';
import { layout } from '../lib/experiment/layout';
import { findTrajectory } from '../lib/experiment/trajectories';
import type { CurateResult, ShardPlan } from './contracts';
import { progressTicker, startHeartbeat } from './heartbeat';

export function createCurateActivities(deps: { clients: ClientProvider; frozen: FrozenState }) {
  const { clients } = deps;
  const frozenConfig = deps.frozen.config;
  const sample = deps.frozen.sample;
  return {
    /**
     * Keeps the good trajectories and counts every drop reason. Streams: records are read one at a
     * time in id order and kept ones written as they come, so memory does not grow with the number of
     * trajectories, and the event loop (heartbeats) runs between records.
     */
    async curate(input: { handle: ExperimentHandle; shards: ShardPlan[] }): Promise<CurateResult> {
      const config = await frozenConfig(input.handle);
      const store = clients.store(config);
      const exp = input.handle.experiment;
      const progress = { read: 0, total: 0 };
      const heartbeat = startHeartbeat(progress);
      let curated: ArtifactWriter | undefined;
      try {
        const entries: Array<{ id: string; question: Question; method: MethodName }> = [];
        for (const s of input.shards) {
          const qs = await sample(config, s.samplePath);
          for (let i = s.start; i < s.end; i++) entries.push({ id: trajectoryId(qs[i], s.method), question: qs[i], method: s.method });
        }
        // Curation's order (curateTrajectories): by id.
        entries.sort((a, b) => compareStrings(a.id, b.id));
        progress.total = entries.length;
        const evalQuestions = config.curate.excludeEvalQuestions
          ? new Set(
              (
                await loadEvalQuestions(config.dataDir, (task, split, err) => log.warn('eval split unavailable for leak check', { task, split, error: err.message }))
              ).keys(),
            )
          : new Set<string>();
        const curator = new Curator({ ...config.curate, evalQuestions });
        const missing: Array<{ id: string; reason: string }> = [];
        const dropped: DroppedRecord[] = [];
        let usage = emptyUsage();
        let kept = 0;
        const tick = progressTicker(heartbeat, progress);
        curated = await store.openWriter(layout.curated(exp));
        for (const e of entries) {
          // The previous release's layout too: a reset experiment's generation may not run again.
          const stored = await findTrajectory(store, exp, e.question, e.method);
          if (!stored) missing.push({ id: e.id, reason: 'missing' });
          else {
            usage = addUsage(usage, stored.record.usage);
            const d = curator.add(stored.record);
            if (d) dropped.push(d);
            else {
              await curated.write(JSON.stringify(stored.record) + '\n');
              kept++;
            }
          }
          progress.read++;
          await tick();
        }
        const drops: Record<string, number> = { ...curator.counts };
        if (missing.length) drops.missing = missing.length;
        const report = { total: entries.length, kept, drops, usage };
        const curatedRef = await curated.close(kept);
        curated = undefined;
        return {
          curated: curatedRef,
          dropped: await store.writeJsonl(layout.dropped(exp), [...missing, ...dropped]),
          report: await store.writeJson(layout.curateReport(exp), report),
          ...report,
        };
      } finally {
        await curated?.abort();
        heartbeat.stop();
      }
    },
  };
}
