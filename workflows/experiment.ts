// FireActExperiment: prepare → generate (child workflow per task × method shard) → curate → build
// datasets → fine-tune (child per student × mix) → evaluate (child per model × task × method × noise)
// → report. History carries references only; every stage's progress answers the `progress` query.
// The stage machinery is ./experiment-stages.ts, the budget ledger ./experiment-budget.ts.
import { ApplicationFailure, executeChild, log, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { BatchShardResult, CurateResult, EvalRow, EvalTarget, ExperimentInput, ExperimentResult, FineTuneOutcome, PrepareResult, ReportInput, ShardResult } from '../activities/contracts';
import { profiles } from '../core/activity-profiles';
import { fits, ZERO } from '../core/budget';
import { STUDENT_TRAINING_FORMAT } from '../core/artifacts';
import { ErrorType } from '../core/errors';
import { evalRunName, evalRuns, evalTargets } from '../core/eval-plan';
import { experimentDir, shardWorkflowId } from '../core/ids';
import type { BatchTotals } from '../core/progress';
import { EvaluateModel } from './evaluate-model';
import { createExperimentBudget, type Grant } from './experiment-budget';
import { bounded, createStages } from './experiment-stages';
import { FineTuneStudent } from './finetune-student';
import { GenerateBatch } from './generate-batch';
import { GenerateShard } from './generate-shard';

const quick = proxyActivities<Activities>(profiles.quick);
const data = proxyActivities<Activities>(profiles.dataJob);

export async function FireActExperiment(input: ExperimentInput): Promise<ExperimentResult> {
  const experiment = workflowInfo().workflowId;
  const { progress, stageSeconds, markStage, stage, unblocking, skip } = createStages(experiment, input);
  const budget = createExperimentBudget(experiment, progress, markStage);

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

  // Batch mode: every shard runs at once (they wait on the provider, not on our workers).
  const batchMode = prep.batch && patched('batch-generation') ? prep.batch : undefined;
  const maxShards = batchMode ? prep.shards.length : prep.concurrency.shards;
  const episodeConcurrency = prep.concurrency.episodes;
  if (prep.budget && patched('budget')) budget.open(prep.budget);

  const gen = await stage('generate', prep.episodes, async () => {
    // Shard ids name their split, so two splits of one task and method never share a child id;
    // histories recorded before that keep the old ids (decided once, so one run uses one form).
    const splitInShardIds = patched('shard-id-split');
    const totals: ExperimentResult['generate'] = { succeeded: 0, failed: 0, calls: 0, cachedCalls: 0 };
    const batchTotals: BatchTotals = { batches: 0, rounds: 0, requests: 0, failedRequests: 0, syncEpisodes: 0 };
    if (batchMode) totals.batch = batchTotals;
    // With a budget a shard may stop early and come back here with where to resume (`from`).
    const queue: Array<{ plan: (typeof prep.shards)[number]; from?: number }> = prep.shards.map((plan) => ({ plan }));
    const running = new Set<Promise<void>>();
    const startShard = ({ plan, from }: (typeof queue)[number]) => {
      const line = budget.generation(plan.method);
      const grant = line && budget.grant(line, plan.end - (from ?? plan.start));
      const workflowId = shardWorkflowId(experiment, plan.task, splitInShardIds ? plan.split : undefined, plan.method, plan.shard);
      const shardInput = {
        handle: prep.handle,
        plan,
        concurrency: episodeConcurrency,
        continueAsNewAfterEvents: prep.continueAsNewAfterEvents,
        ...(prep.concurrency.perActivity !== undefined ? { episodesPerActivity: prep.concurrency.perActivity } : {}),
        ...(grant ? { budget: grant, ...(from !== undefined ? { from, next: from } : {}) } : {}),
      };
      const staticSummary = `${plan.task} ${plan.split} × ${plan.method}, questions ${from ?? plan.start}–${plan.end - 1}`;
      const p: Promise<void> = unblocking('generate', (): Promise<ShardResult> =>
        batchMode
          ? executeChild(GenerateBatch, { workflowId, args: [{ ...shardInput, poll: batchMode.poll }], staticSummary: `${staticSummary} (Batch API)` }).then((r: BatchShardResult) => {
              for (const k of Object.keys(batchTotals) as Array<keyof BatchTotals>) batchTotals[k] += r.batch[k];
              progress.counts.batches = batchTotals.batches;
              progress.counts.batchRounds = batchTotals.rounds;
              return r;
            })
          : executeChild(GenerateShard, { workflowId, args: [shardInput], staticSummary }),
      )
        .then((r: ShardResult) => {
          if (line && grant) {
            budget.settle(line, grant, r.spent ?? ZERO, r.outgrew);
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
    const nextFits = () => {
      const line = budget.generation(queue[0].plan.method);
      return !line || budget.fundable(line);
    };
    while (queue.length || running.size) {
      // While blocked, no new shard starts: it would meet the same cause.
      while (running.size < maxShards && queue.length && !progress.blocked && nextFits()) startShard(queue.shift()!);
      if (running.size) {
        await Promise.race(running);
        continue;
      }
      await budget.pause(budget.generation(queue[0].plan.method)!, `the next ${queue[0].plan.method} episode`, 'generate');
    }
    return totals;
  });

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

  // Fine-tune: a child per (student, dataset mix).
  let students: FineTuneOutcome[] = [];
  const jobs = prep.students.flatMap((student) =>
    student.datasets.map((d) => {
      // The schema refuses a student whose mix lacks this format; a config prepared before that rule fails
      // here with the reason, as a non-retryable failure (a TypeError would retry the workflow task forever).
      const ds = datasets.find((x) => x.name === d);
      const file = ds?.files[STUDENT_TRAINING_FORMAT];
      if (!ds || !file) {
        throw ApplicationFailure.create({
          type: ErrorType.InvalidConfig,
          nonRetryable: true,
          message: `student "${student.name}" trains on dataset "${d}" in the "${STUDENT_TRAINING_FORMAT}" format, but ${ds ? `that dataset was written only as ${Object.keys(ds.files).join(', ') || 'nothing'}` : 'no such dataset was built'}`,
        });
      }
      return { student, dataset: { name: ds.name, path: file.path, sha256: file.sha256, records: ds.records } };
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
          const line = budget.evaluation(target);
          // With a budget an evaluation may stop when its allowance runs out; it runs again (from its stored episodes) once funded.
          for (;;) {
            const grant: Grant | undefined = line && (await budget.admit(line, sample.n, `evaluating ${target.name} (${target.method})`, 'evaluate'));
            const out = await unblocking('evaluate', () =>
              executeChild(EvaluateModel, {
                workflowId,
                args: [{ handle: prep.handle, target, task: sample.task, split: sample.split, samplePath: sample.samplePath, noise, ...(grant ? { budget: grant } : {}) }],
                staticSummary: `evaluate ${target.name} on ${sample.task} ${sample.split} (${target.method}, ${sample.n} questions)`,
              }),
            );
            if (line && grant) {
              const paid = 'stopped' in out ? out.stopped.paid : (out.paid ?? ZERO);
              budget.settle(line, grant, paid, 'stopped' in out && !fits(out.stopped.need, grant.perEpisode) ? out.stopped.need : undefined);
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
        { handle: prep.handle, report: reportInput, generation: { model: prep.teacher, usage: cur.usage, ...(gen.batch ? { batch: gen.batch } : {}) } },
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
  markStage('done');
  log.info('experiment finished', { experiment, kept: cur.kept, datasets: datasets.length });
  return result;
}
