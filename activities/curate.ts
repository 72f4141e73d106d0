// Stage curate: read every trajectory of the plan, keep the good ones, count each drop reason.
import { log } from '@temporalio/activity';
import { addUsage, emptyUsage, trajectoryId, type TrajectoryRecord } from '../core/trajectory';
import { curateTrajectories } from '../lib/curate/curate';
import { loadEvalQuestions } from '../lib/curate/eval-questions';
import type { ClientProvider } from '../lib/experiment/clients';
import type { ExperimentHandle, FrozenState } from '../lib/experiment/frozen';
import { layout } from '../lib/experiment/layout';
import { findTrajectory } from '../lib/experiment/trajectories';
import type { CurateResult, ShardPlan } from './contracts';
import { startHeartbeat } from './heartbeat';

export function createCurateActivities(deps: { clients: ClientProvider; frozen: FrozenState }) {
  const { clients } = deps;
  const frozenConfig = deps.frozen.config;
  const sample = deps.frozen.sample;
  return {
    /** Keeps the good trajectories and counts every drop reason. */
    async curate(input: { handle: ExperimentHandle; shards: ShardPlan[] }): Promise<CurateResult> {
      const config = await frozenConfig(input.handle);
      const store = clients.store(config);
      const exp = input.handle.experiment;
      const heartbeat = startHeartbeat({ read: 0 });
      try {
        const records: TrajectoryRecord[] = [];
        const missing: Array<{ id: string; reason: string }> = [];
        for (const s of input.shards) {
          const qs = await sample(config, s.samplePath);
          for (let i = s.start; i < s.end; i++) {
            // The previous release's layout too: a reset experiment's generation may not run again.
            const stored = await findTrajectory(store, exp, qs[i], s.method);
            if (stored) records.push(stored.record);
            else missing.push({ id: trajectoryId(qs[i], s.method), reason: 'missing' });
            heartbeat.update({ read: records.length });
          }
        }
        const evalQuestions = config.curate.excludeEvalQuestions
          ? new Set(
              (
                await loadEvalQuestions(config.dataDir, (task, split, err) => log.warn('eval split unavailable for leak check', { task, split, error: err.message }))
              ).keys(),
            )
          : new Set<string>();
        const result = curateTrajectories(records, { ...config.curate, evalQuestions });
        const dropped = [...missing, ...result.dropped];
        const drops: Record<string, number> = { ...result.counts };
        if (missing.length) drops.missing = missing.length;
        const usage = records.reduce((u, r) => addUsage(u, r.usage), emptyUsage());
        const report = { total: records.length + missing.length, kept: result.kept.length, drops, usage };
        return {
          curated: await store.writeJsonl(layout.curated(exp), result.kept),
          dropped: await store.writeJsonl(layout.dropped(exp), dropped),
          report: await store.writeJson(layout.curateReport(exp), report),
          ...report,
        };
      } finally {
        heartbeat.stop();
      }
    },
  };
}
