// FireActExperiment: prepare → generate (child workflow per task × method shard) → curate → build
// datasets. History carries references only; every stage's progress answers the `progress` query.
import {
  ApplicationFailure,
  executeChild,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, CurateResult, DatasetResult, EvalRow, EvalTarget, PrepareResult, ReportInput } from '../activities';
import { profiles } from '../core/activity-profiles';
import { STAGE_SEARCH_ATTRIBUTE, shardWorkflowId } from '../core/ids';
import { progressQuery, STAGES, type ExperimentProgress, type StageName } from '../core/progress';
import { EvaluateModel } from './evaluate-model';
import { FineTuneStudent, type FineTuneOutcome } from './finetune-student';
import { GenerateShard, type ShardResult } from './generate-shard';

const quick = proxyActivities<Activities>(profiles.quick);
const data = proxyActivities<Activities>(profiles.dataJob);

export interface ExperimentInput {
  /** The experiment config (validated again by prepare; a bad one fails before anything is spent). */
  config: unknown;
  /** Skip the FireActStage search attribute (for namespaces where it is not registered). */
  noSearchAttributes?: boolean;
}

export interface ExperimentResult {
  experiment: string;
  artifactDir: string;
  replayedTeacher: boolean;
  replaySkipped: Record<string, number>;
  questions: number;
  episodes: number;
  generate: { succeeded: number; failed: number; calls: number; cachedCalls: number };
  curate: Pick<CurateResult, 'total' | 'kept' | 'drops'> & { curated: CurateResult['curated'] };
  datasets: DatasetResult[];
  students: FineTuneOutcome[];
  evaluation: EvalRow[];
  report: { markdown: string; html: string; summary: string } | null;
  stageSeconds: Record<string, number>;
}

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
  const stageSeconds: Record<string, number> = {};

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
      s.status = 'failed';
      progress.stage = 'failed';
      if (!input.noSearchAttributes) upsertSearchAttributes({ [STAGE_SEARCH_ATTRIBUTE]: ['failed'] });
      throw err;
    } finally {
      s.endedAt = new Date().toISOString();
      stageSeconds[name] = (Date.now() - t0) / 1000;
    }
  }

  const prep: PrepareResult = await stage('prepare', 1, async () => {
    const r = await quick.prepareExperiment.executeWithOptions({ ...profiles.quick, summary: 'validate config, freeze question sample' }, [
      { experiment, config: input.config },
    ]);
    progress.stages.prepare.done = 1;
    progress.artifactRoot = `${r.handle.artifactDir}/${experiment}`;
    progress.counts.questions = r.questions;
    progress.counts.episodes = r.episodes;
    return r;
  });

  const maxShards = prep.concurrency.shards;
  const episodeConcurrency = prep.concurrency.episodes;

  const gen = await stage('generate', prep.episodes, async () => {
    const totals = { succeeded: 0, failed: 0, calls: 0, cachedCalls: 0 };
    const queue = [...prep.shards];
    const running = new Set<Promise<void>>();
    const startShard = (plan: (typeof prep.shards)[number]) => {
      const p: Promise<void> = executeChild(GenerateShard, {
        workflowId: shardWorkflowId(experiment, plan.task, plan.method, plan.shard),
        args: [{ handle: prep.handle, plan, concurrency: episodeConcurrency, continueAsNewAfterEvents: prep.continueAsNewAfterEvents }],
        staticSummary: `${plan.task} × ${plan.method}, questions ${plan.start}–${plan.end - 1}`,
      })
        .then((r: ShardResult) => {
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
      while (running.size < maxShards && queue.length) startShard(queue.shift()!);
      await Promise.race(running);
    }
    return totals;
  });

  const cur: CurateResult = await stage('curate', prep.episodes, async () => {
    const r = await data.curate.executeWithOptions({ ...profiles.dataJob, summary: 'keep good trajectories, drop duplicates and leaks' }, [
      { handle: prep.handle, shards: prep.shards },
    ]);
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
    const r = await data.buildDatasets.executeWithOptions({ ...profiles.dataJob, summary: 'write OpenAI chat JSONL and Alpaca JSON per mix' }, [
      { handle: prep.handle, curated: cur.curated },
    ]);
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
          const r = await executeChild(FineTuneStudent, {
            workflowId: `${experiment}/finetune/${student.name}-${dataset.name}`,
            args: [{ handle: prep.handle, student, dataset }],
            staticSummary: `fine-tune ${student.name} (${student.backend}, ${student.baseModel}) on ${dataset.name}`,
          });
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
    const targets: EvalTarget[] = [];
    const baseDone = new Set<string>();
    for (const o of students) {
      const methods = prep.students.find((s) => s.name === o.student)!.evalMethods;
      for (const method of methods) {
        targets.push({ name: `${o.student}@${o.dataset}`, kind: 'student', method, prompt: 'student', local: o.local && { modelDir: o.local.modelDir, adapterDir: o.local.adapterDir }, openai: o.openai });
        if (ev.baseModels && o.local && !baseDone.has(`${o.student}/${method}`)) {
          baseDone.add(`${o.student}/${method}`);
          targets.push({ name: `${o.student}-base`, kind: 'base', method, prompt: 'student', local: { modelDir: o.local.baseModelDir, adapterDir: null } });
        }
      }
    }
    for (const b of ev.baselines) for (const method of b.methods) targets.push({ name: b.model, kind: b.kind, method, prompt: 'few-shot', configModel: b.model });
    const runs = targets.flatMap((target) => ev.samples.flatMap((sample) => ev.toolNoise.map((noise) => ({ target, sample, noise }))));
    if (runs.length) {
      evaluation = await stage('evaluate', runs.length, () =>
        bounded(runs, ev.maxParallel, async ({ target, sample, noise }) => {
          const row = await executeChild(EvaluateModel, {
            workflowId: `${experiment}/evaluate/${target.name}-${sample.task}-${target.method}${noise === 'none' ? '' : `-${noise}`}`,
            args: [{ handle: prep.handle, target, task: sample.task, split: sample.split, samplePath: sample.samplePath, noise }],
            staticSummary: `evaluate ${target.name} on ${sample.task} ${sample.split} (${target.method}, ${sample.n} questions)`,
          });
          progress.stages.evaluate.done += 1;
          return row;
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
    const r = await quick.writeExperimentReport.executeWithOptions({ ...profiles.quick, summary: 'report.md, report.html, summary.json' }, [
      { handle: prep.handle, report: reportInput, generation: { model: prep.teacher, usage: cur.usage } },
    ]);
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
