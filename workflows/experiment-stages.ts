// The experiment's stage machinery: each stage's progress and the FireActStage search attribute, and the
// pause on `Blocked` until `resumeBlocked` (`fireact resume <id>`, patched 'blocked-pause').
import { condition, isCancellation, log, patched, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { BLOCKED_STAGE, findBlocked, resumeBlockedUpdate } from '../core/blocked';
import { STAGE_SEARCH_KEY } from '../core/ids';
import { progressQuery, STAGES, type ExperimentProgress, type StageName } from '../core/progress';

export function createStages(experiment: string, opts: { noSearchAttributes?: boolean }) {
  const progress: ExperimentProgress = {
    experiment,
    stage: 'prepare',
    stages: Object.fromEntries(STAGES.map((s) => [s, { status: 'pending', done: 0, total: 0 }])) as ExperimentProgress['stages'],
    counts: {},
  };
  setHandler(progressQuery, () => progress);
  const stageSeconds: Record<string, number> = {};

  /** Sets the FireActStage search attribute through its typed key (skipped for namespaces where it is not registered). */
  const markStage = (value: string): void => {
    if (!opts.noSearchAttributes) upsertSearchAttributes([{ key: STAGE_SEARCH_KEY, value }]);
  };

  // Work whose activity made no progress for blockedAfterSeconds waits here until resumed, then runs
  // again; finished parts are reused.
  let resumes = 0;
  setHandler(
    resumeBlockedUpdate,
    () => {
      const was = progress.blocked!;
      delete progress.blocked;
      resumes += 1;
      setCurrentDetails('');
      markStage(was.stage);
      log.info('resumed after blocked', { experiment, stage: was.stage });
      return { stage: was.stage, reason: was.reason };
    },
    {
      validator: () => {
        if (!progress.blocked) throw new Error(`experiment ${experiment} is not blocked (stage: ${progress.stage}${progress.paused ? ', paused for budget: raise it with fireact budget' : ''})`);
      },
    },
  );

  /** Runs `work`; when it ends Blocked, pauses the stage until resumed and runs it again. */
  async function unblocking<T>(stageName: StageName, work: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await work();
      } catch (err) {
        const b = findBlocked(err);
        if (!b || !patched('blocked-pause')) throw err;
        const seen = resumes;
        if (!progress.blocked) {
          progress.blocked = {
            stage: stageName,
            pausedAt: new Date().toISOString(),
            ...(b.activity ? { activity: b.activity } : {}),
            ...(b.workflowId ? { workflowId: b.workflowId } : {}),
            ...(b.details ? { attempt: b.details.attempt, since: b.details.since } : {}),
            lastError: b.details?.lastError ?? b.failure.message,
            reason: `${b.workflowId ? `${b.workflowId}: ` : ''}${b.failure.message}`,
          };
          markStage(BLOCKED_STAGE);
          // The UI shows this on the workflow's page (a query: no command, nothing in history).
          setCurrentDetails(`**Blocked** in stage ${stageName}: ${progress.blocked.reason}\n\nFix the cause, then run \`npx fireact resume ${experiment}\`.`);
          log.warn('stage blocked', { experiment, stage: stageName, reason: progress.blocked.reason });
        }
        await condition(() => resumes > seen);
      }
    }
  }

  /** Runs one stage: its status, times and search attribute; a cancelled or failed stage says so. */
  async function stage<T>(name: StageName, total: number, run: () => Promise<T>): Promise<T> {
    const s = progress.stages[name];
    progress.stage = name;
    s.status = 'running';
    s.total = total;
    s.startedAt = new Date().toISOString();
    markStage(name);
    const t0 = Date.now();
    try {
      const out = await run();
      s.status = 'done';
      return out;
    } catch (err) {
      // A cancelled experiment reads as cancelled, not failed (patched: the search attribute differs).
      const end = isCancellation(err) && patched('stage-cancelled') ? 'cancelled' : 'failed';
      s.status = end;
      progress.stage = end;
      delete progress.blocked;
      markStage(end);
      throw err;
    } finally {
      s.endedAt = new Date().toISOString();
      stageSeconds[name] = (Date.now() - t0) / 1000;
    }
  }

  return {
    progress,
    stageSeconds,
    markStage,
    stage,
    unblocking,
    skip(name: StageName): void {
      progress.stages[name].status = 'skipped';
    },
  };
}

/** Runs `run` over items with at most `limit` at once, in order of the items. */
export async function bounded<T, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await run(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}
