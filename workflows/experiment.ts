// FireActExperiment: prepare → generate (child workflow per task × method shard) → curate → build
// datasets. History carries references only; every stage's progress answers the `progress` query.
import {
  ApplicationFailure,
  condition,
  executeChild,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { profiles } from '../core/activity-profiles';
import { BLOCKED_STAGE, findBlocked, resumeBlockedUpdate } from '../core/blocked';
import { checkRaise, createLedger, evalReservation, fits, legacyEpisodeWorstCase, isZero, PAUSED_BUDGET_STAGE, raiseBudgetUpdate, ZERO, type Amount, type Ledger } from '../core/budget';
import { evalRunName, evalRuns, evalTargets } from '../core/eval-plan';
import { experimentDir, STAGE_SEARCH_ATTRIBUTE, shardWorkflowId } from '../core/ids';
import { progressQuery, STAGES, type ExperimentProgress, type StageName } from '../core/progress';
import { EvaluateModel } from './evaluate-model';
import { FineTuneStudent } from './finetune-student';
import { GenerateShard } from './generate-shard';
import type { CurateResult, EvalRow, EvalTarget, ExperimentInput, ExperimentResult, FineTuneOutcome, PrepareResult, ReportInput, ShardResult } from '../activities/contracts';

const quick = proxyActivities<Activities>(profiles.quick);
const data = proxyActivities<Activities>(profiles.dataJob);

/** Runs `run` over items with at most `limit` at once, in order of the items. */
async function bounded<T, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>): Promise<R[]> {
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

export async function FireActExperiment(input: ExperimentInput): Promise<ExperimentResult> {
  const experiment = workflowInfo().workflowId;
  const progress: ExperimentProgress = {
    experiment,
    stage: 'prepare',
    stages: Object.fromEntries(STAGES.map((s) => [s, { status: 'pending', done: 0, total: 0 }])) as ExperimentProgress['stages'],
    counts: {},
  };
  setHandler(progressQuery, () => progress);
  // Budget (patched 'budget'): the ledger lives here; `raiseBudget` raises a cap and wakes a paused stage.
  let ledger: Ledger | undefined;
  setHandler(
    raiseBudgetUpdate,
    (r) => {
      ledger!.raise(r);
      progress.budget = ledger!.state(progress.paused !== undefined);
      return progress.budget;
    },
    {
      validator: (r) => {
        if (!ledger) throw new Error(`experiment ${experiment} has no budget to raise (none configured, its teacher costs nothing, or it has not been prepared yet)`);
        const cap = ledger.capFor(r.model);
        if (!cap) throw new Error(`model "${r.model}" has no cap of its own in this experiment`);
        const problem = checkRaise(r, cap);
        if (problem) throw new Error(problem);
      },
    },
  );
  const stageSeconds: Record<string, number> = {};

  // Blocked (patched 'blocked-pause'): work whose activity made no progress for blockedAfterSeconds
  // waits here until `resumeBlocked` (`fireact resume <id>`), then runs again; finished parts are reused.
  let resumes = 0;
  setHandler(
    resumeBlockedUpdate,
    () => {
      const was = progress.blocked!;
      delete progress.blocked;
      resumes += 1;
      setCurrentDetails('');
      if (!input.noSearchAttributes) upsertSearchAttributes({ [STAGE_SEARCH_ATTRIBUTE]: [was.stage] });
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
          if (!input.noSearchAttributes) upsertSearchAttributes({ [STAGE_SEARCH_ATTRIBUTE]: [BLOCKED_STAGE] });
          // The UI shows this on the workflow's page (a query: no command, nothing in history).
          setCurrentDetails(`**Blocked** in stage ${stageName}: ${progress.blocked.reason}\n\nFix the cause, then run \`npx fireact resume ${experiment}\`.`);
          log.warn('stage blocked', { experiment, stage: stageName, reason: progress.blocked.reason });
        }
        await condition(() => resumes > seen);
      }
    }
  }

  async function stage<T>(name: StageName, total: number, run: () => Promise<T>): Promise<T> {
    const s = progress.stages[name];
    progress.stage = name;
    s.status = 'running';
    s.total = total;
    s.startedAt = new Date().toISOString();
    if (!input.noSearchAttributes) upsertSearchAttributes({ [STAGE_SEARCH_ATTRIBUTE]: [name] });
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
      if (!input.noSearchAttributes) upsertSearchAttributes({ [STAGE_SEARCH_ATTRIBUTE]: [end] });
      throw err;
    } finally {
      s.endedAt = new Date().toISOString();
      stageSeconds[name] = (Date.now() - t0) / 1000;
    }
  }

  const prep: PrepareResult = await stage('prepare', 1, async () => {
    const r = await unblocking('prepare', () => quick.prepareExperiment.executeWithOptions({ ...profiles.quick, summary: 'validate config, freeze question sample' }, [
      { experiment: input.artifactsOf ?? experiment, config: input.config },
    ]));
    progress.stages.prepare.done = 1;
    progress.artifactRoot = `${r.handle.artifactDir}/${experimentDir(r.handle.experiment)}`;
    progress.counts.questions = r.questions;
    progress.counts.episodes = r.episodes;
    return r;
  });

  const maxShards = prep.concurrency.shards;
  const episodeConcurrency = prep.concurrency.episodes;

  const budgetPlan = prep.budget && patched('budget') ? prep.budget : undefined;
  if (budgetPlan) {
    ledger = createLedger(budgetPlan);
    progress.budget = ledger.state(false);
  }
  /** The ledger and a generation method's reservation, when the teacher costs anything. */
  const genBudget = (method: string): { l: Ledger; key: string; base: Amount; need: Amount } | undefined => {
    if (!ledger || !budgetPlan) return undefined;
    const key = `generate/${method}`;
    const base = budgetPlan.generate[method] ?? ZERO;
    return isZero(base) ? undefined : { l: ledger, key, base, need: ledger.reservation(key, base) };
  };

  const gen = await stage('generate', prep.episodes, async () => {
    // Shard ids name their split, so two splits of one task and method never share a child id;
    // histories recorded before that keep the old ids (decided once, so one run uses one form).
    const splitInShardIds = patched('shard-id-split');
    const totals = { succeeded: 0, failed: 0, calls: 0, cachedCalls: 0 };
    // With a budget a shard may stop early and come back here with where to resume (`from`).
    const queue: Array<{ plan: (typeof prep.shards)[number]; from?: number }> = prep.shards.map((plan) => ({ plan }));
    const running = new Set<Promise<void>>();
    const startShard = ({ plan, from }: (typeof queue)[number]) => {
      const gb = genBudget(plan.method);
      const budget = gb && { allowance: gb.l.grant(budgetPlan!.teacher, gb.need, plan.end - (from ?? plan.start)), perEpisode: gb.need };
      const p: Promise<void> = unblocking('generate', () => executeChild(GenerateShard, {
        workflowId: shardWorkflowId(experiment, plan.task, splitInShardIds ? plan.split : undefined, plan.method, plan.shard),
        args: [
          {
            handle: prep.handle,
            plan,
            concurrency: episodeConcurrency,
            continueAsNewAfterEvents: prep.continueAsNewAfterEvents,
            ...(budget ? { budget, ...(from !== undefined ? { from, next: from } : {}) } : {}),
          },
        ],
        staticSummary: `${plan.task} ${plan.split} × ${plan.method}, questions ${from ?? plan.start}–${plan.end - 1}`,
      }))
        .then((r: ShardResult) => {
          if (gb && budget) {
            gb.l.settle(budgetPlan!.teacher, budget.allowance, r.spent ?? ZERO);
            if (r.outgrew) gb.l.outgrew(gb.key, gb.base, r.outgrew);
            progress.budget = gb.l.state(false);
            if (r.stoppedAt !== undefined) queue.unshift({ plan, from: r.stoppedAt });
          }
          totals.succeeded += r.succeeded;
          totals.failed += r.failed;
          totals.calls += r.calls;
          totals.cachedCalls += r.cachedCalls;
          progress.stages.generate.done += r.episodes;
          progress.counts.succeeded = totals.succeeded;
          progress.counts.failedEpisodes = totals.failed;
        })
        .finally(() => running.delete(p));
      running.add(p);
    };
    while (queue.length || running.size) {
      const fits = () => {
        const gb = genBudget(queue[0].plan.method);
        return !gb || gb.l.canStart(budgetPlan!.teacher, gb.need);
      };
      // While blocked, no new shard starts: it would meet the same cause.
      while (running.size < maxShards && queue.length && !progress.blocked && fits()) startShard(queue.shift()!);
      if (running.size) {
        await Promise.race(running);
        continue;
      }
      const gb = genBudget(queue[0].plan.method)!;
      await waitForBudget(() => gb.l.canStart(budgetPlan!.teacher, gb.l.reservation(gb.key, gb.base)), budgetPlan!.teacher, gb.need, `the next ${queue[0].plan.method} episode`, 'generate');
    }
    return totals;
  });

  /** An evaluation target's ledger entry and reservation, when it costs anything (local models do not). */
  function evalBudget(target: EvalTarget): { l: Ledger; model: string; key: string; base: Amount } | undefined {
    if (!ledger || !budgetPlan?.evaluate || target.local) return undefined;
    // An OpenAI fine-tune is reached with ModelSchema's default maxTokens (512), as evaluateModel builds it.
    const m = target.configModel ? budgetPlan.models[target.configModel] : target.openai ? { provider: 'openai', model: target.openai.model, maxTokens: 512 } : undefined;
    if (!m) return undefined;
    // Prepare measured the first prompts (the one cost model, as plan shows it); an experiment prepared
    // before that carries no measurements and keeps the reservations its history was made with.
    const base = budgetPlan.evaluate.prompts
      ? evalReservation(m, target.method, target.prompt, budgetPlan)
      : legacyEpisodeWorstCase(m, { method: target.method, ...budgetPlan.evaluate, maxTokens: m.maxTokens }, budgetPlan.prices);
    const model = target.configModel ?? target.name;
    return isZero(base) ? undefined : { l: ledger, model, key: `evaluate/${model}/${target.method}`, base };
  }

  let evalRunning = 0;
  /** Waits until the ledger funds one episode of this evaluation, pausing the experiment when nothing else runs. */
  async function admitEvaluation(eb: { l: Ledger; model: string; key: string; base: Amount }, what: string): Promise<Amount> {
    const fundable = () => eb.l.canStart(eb.model, eb.l.reservation(eb.key, eb.base));
    while (!fundable()) {
      if (evalRunning === 0 && !progress.paused) await waitForBudget(fundable, eb.model, eb.l.reservation(eb.key, eb.base), what, 'evaluate');
      else await condition(() => fundable() || (evalRunning === 0 && !progress.paused));
    }
    return eb.l.reservation(eb.key, eb.base);
  }

  /** Nothing runs and the next piece of work does not fit: pause (not fail) until a raise makes room. */
  async function waitForBudget(fundable: () => boolean, model: string, need: Amount, what: string, stageName: StageName): Promise<void> {
    const l = ledger!;
    progress.paused = l.pause(model, need, what, stageName, new Date().toISOString());
    progress.budget = l.state(true);
    if (!input.noSearchAttributes) upsertSearchAttributes({ [STAGE_SEARCH_ATTRIBUTE]: [PAUSED_BUDGET_STAGE] });
    log.info('paused for budget', { experiment, reason: progress.paused.reason });
    await condition(fundable);
    delete progress.paused;
    progress.budget = l.state(false);
    if (!input.noSearchAttributes) upsertSearchAttributes({ [STAGE_SEARCH_ATTRIBUTE]: [stageName] });
  }

  const cur: CurateResult = await stage('curate', prep.episodes, async () => {
    const r = await unblocking('curate', () =>
      data.curate.executeWithOptions({ ...profiles.dataJob, summary: 'keep good trajectories, drop duplicates and leaks' }, [{ handle: prep.handle, shards: prep.shards }]),
    );
    progress.stages.curate.done = r.total;
    progress.counts.kept = r.kept;
    return r;
  });
  if (cur.kept === 0) {
    throw ApplicationFailure.create({
      type: 'NothingToTrainOn',
      message: `curation kept no trajectory of ${cur.total}; drops: ${JSON.stringify(cur.drops)}`,
      nonRetryable: true,
    });
  }

  const datasets = await stage('build-datasets', 1, async () => {
    const r = await unblocking('build-datasets', () =>
      data.buildDatasets.executeWithOptions({ ...profiles.dataJob, summary: 'write OpenAI chat JSONL and Alpaca JSON per mix' }, [{ handle: prep.handle, curated: cur.curated }]),
    );
    progress.stages['build-datasets'].done = 1;
    progress.counts.datasets = r.length;
    return r;
  });

  const skip = (name: StageName) => {
    progress.stages[name].status = 'skipped';
  };

  // Fine-tune: a child per (student, dataset mix).
  let students: FineTuneOutcome[] = [];
  const jobs = prep.students.flatMap((student) =>
    student.datasets.map((d) => {
      const ds = datasets.find((x) => x.name === d)!;
      return { student, dataset: { name: ds.name, path: ds.files.openai!.path, sha256: ds.files.openai!.sha256, records: ds.records } };
    }),
  );
  if (jobs.length) {
    students = await stage('fine-tune', jobs.length, () =>
      Promise.all(
        jobs.map(async ({ student, dataset }) => {
          const r = await unblocking('fine-tune', () =>
            executeChild(FineTuneStudent, {
              workflowId: `${experiment}/finetune/${student.name}-${dataset.name}`,
              args: [{ handle: prep.handle, student, dataset }],
              staticSummary: `fine-tune ${student.name} (${student.backend}, ${student.baseModel}) on ${dataset.name}`,
            }),
          );
          progress.stages['fine-tune'].done += 1;
          return r;
        }),
      ),
    );
  } else skip('fine-tune');

  // Evaluate: a child per (model, task, method, tool noise) on the frozen eval samples.
  let evaluation: EvalRow[] = [];
  const ev = prep.evaluation;
  if (ev && ev.samples.length) {
    const targets: EvalTarget[] = evalTargets({ students: prep.students, trained: students, baselines: ev.baselines, baseModels: ev.baseModels });
    const runs = evalRuns(targets, ev.samples, ev.toolNoise);
    if (runs.length) {
      evaluation = await stage('evaluate', runs.length, () =>
        bounded(runs, ev.maxParallel, async ({ target, sample, noise }) => {
          const workflowId = `${experiment}/evaluate/${evalRunName(target, sample.task, noise, patched('eval-id-split') ? sample.split : undefined)}`;
          const eb = evalBudget(target);
          // With a budget an evaluation may stop when its allowance runs out; it runs again (from its stored episodes) once funded.
          for (;;) {
            const budget = eb && { perEpisode: await admitEvaluation(eb, `evaluating ${target.name} (${target.method})`), allowance: {} };
            if (eb && budget) {
              budget.allowance = eb.l.grant(eb.model, budget.perEpisode, sample.n);
              evalRunning += 1;
            }
            const out = await unblocking('evaluate', () =>
              executeChild(EvaluateModel, {
                workflowId,
                args: [{ handle: prep.handle, target, task: sample.task, split: sample.split, samplePath: sample.samplePath, noise, ...(budget ? { budget } : {}) }],
                staticSummary: `evaluate ${target.name} on ${sample.task} ${sample.split} (${target.method}, ${sample.n} questions)`,
              }),
            );
            if (eb && budget) {
              evalRunning -= 1;
              const paid = 'stopped' in out ? out.stopped.paid : (out.paid ?? ZERO);
              eb.l.settle(eb.model, budget.allowance, paid);
              if ('stopped' in out && !fits(out.stopped.need, budget.perEpisode)) eb.l.outgrew(eb.key, eb.base, out.stopped.need);
              progress.budget = eb.l.state(progress.paused !== undefined);
            }
            if ('stopped' in out) continue;
            progress.stages.evaluate.done += 1;
            const { paid: _paid, ...row } = out;
            return row;
          }
        }),
      );
    } else skip('evaluate');
  } else skip('evaluate');

  const reportInput: Omit<ReportInput, 'spend'> = {
    experiment,
    name: prep.name,
    description: prep.description,
    generatedAt: new Date().toISOString(),
    teacher: { name: prep.teacher.name, model: prep.teacher.model, replay: prep.replayedTeacher },
    students: students.map((o) => ({
      name: `${o.student}@${o.dataset}`,
      backend: o.backend,
      baseModel: o.baseModel,
      dataset: o.dataset,
      tinyDemoModel: o.tinyDemoModel,
      fineTunedModel: o.fineTunedModel,
      steps: o.steps,
      trainLoss: o.trainLoss,
      tokensPerSecond: o.tokensPerSecond,
    })),
    datasets: datasets.map((d) => ({ name: d.name, records: d.records, byTask: d.byTask, byMethod: d.byMethod })),
    curation: { total: cur.total, kept: cur.kept, drops: cur.drops },
    replaySkipped: prep.replaySkipped,
    evaluation,
    stageSeconds,
  };
  const report = await stage('report', 1, async () => {
    const r = await unblocking('report', () =>
      quick.writeExperimentReport.executeWithOptions({ ...profiles.quick, summary: 'report.md, report.html, summary.json' }, [
        { handle: prep.handle, report: reportInput, generation: { model: prep.teacher, usage: cur.usage } },
      ]),
    );
    progress.stages.report.done = 1;
    return r;
  });

  const result: ExperimentResult = {
    experiment,
    artifactDir: prep.handle.artifactDir,
    replayedTeacher: prep.replayedTeacher,
    replaySkipped: prep.replaySkipped,
    questions: prep.questions,
    episodes: prep.episodes,
    generate: gen,
    curate: { total: cur.total, kept: cur.kept, drops: cur.drops, curated: cur.curated },
    datasets,
    students,
    evaluation,
    report: { markdown: report.markdown.path, html: report.html.path, summary: report.summary.path },
    stageSeconds,
  };
  progress.stage = 'done';
  if (!input.noSearchAttributes) upsertSearchAttributes({ [STAGE_SEARCH_ATTRIBUTE]: ['done'] });
  log.info('experiment finished', { experiment, kept: cur.kept, datasets: datasets.length });
  return result;
}
