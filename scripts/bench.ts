// `npm run bench [-- --episodes 500 --median-ms 800 --rpm 300 --tpm N]`: generation speed with the
// DEFAULT config against a local provider (scripts/bench/provider.ts: lognormal latency, RPM/TPM
// caps, x-ratelimit-* headers, search), on a real Temporal dev server and a worker process.
// Prints wall time, requests, 429s, achieved RPM/TPM vs the caps, requests in flight, the
// critical-path bound and the ratio to it, per-episode orchestration cost at near-zero latency,
// worker peak RSS, the largest history, and a lock-step reference run (every question advances one
// step and waits for the slowest, batches of 200, as FireAct's generation.py) against the same provider.
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { runEpisode } from '../lib/agent/episode';
import { createArtifactStore } from '../lib/artifacts/store';
import { createContentCache } from '../lib/cache/content-cache';
import { layout } from '../lib/experiment/layout';
import { createOpenAIModel } from '../lib/models/openai-model';
import type { ChatModel, ChatRequest, ChatResponse } from '../lib/models/types';
import { getTask } from '../lib/tasks/registry';
import { createSerpApiSearch } from '../lib/tools/serpapi-search';
import { generationParallelism, parseExperimentConfig, scoringRuleFor, type ExperimentConfigInput, type MethodName } from '../core/config';
import { TASK_QUEUE } from '../core/ids';
import type { Question } from '../core/trajectory';
import { FireActExperiment } from '../workflows';
import { DEFAULT_ACTIVITY_SLOTS } from '../workers/fireact-worker';
import { WORKER_NODE_FLAGS } from '../workers/heap';
import { SEARCH_KEY, startProvider, type Provider } from './bench/provider';
import { generateTasks } from './bench/workload';
import { startDevServer } from './support/temporal';

const ROOT = path.resolve(__dirname, '..');
const DATA_DIR = process.env.FIREACT_DATA_DIR ?? path.resolve(ROOT, '../shared/fireact');
const LOCKSTEP_BATCH = 200;

const { values: args } = parseArgs({
  options: {
    episodes: { type: 'string', default: '500' },
    'median-ms': { type: 'string', default: '800' },
    sigma: { type: 'string', default: '0.5' },
    'search-median-ms': { type: 'string', default: '300' },
    rpm: { type: 'string' },
    tpm: { type: 'string' },
    /** Episodes of the near-zero-latency run that measures orchestration cost (0 skips it). */
    'overhead-episodes': { type: 'string', default: '500' },
    'no-lockstep': { type: 'boolean', default: false },
    /** Episodes per activity instead of the default (to measure what another value costs). */
    'episodes-per-activity': { type: 'string' },
    /** Write the worker's CPU profile (.cpuprofile) into this folder. */
    profile: { type: 'string' },
    /** More Node flags for the worker, space-separated (e.g. --perf-basic-prof, to read `perf` profiles of it). */
    'worker-flags': { type: 'string', default: '' },
  },
});

function positive(name: string, raw: string | undefined, allowZero = false): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw new Error(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${JSON.stringify(raw)}`);
  return n;
}

/** The config a user would write: a teacher at a base URL and a search backend, nothing tuned. */
function benchConfig(provider: Provider, dir: string, episodes: number): ExperimentConfigInput {
  const perActivity = positive('episodes-per-activity', args['episodes-per-activity']);
  return {
    name: 'bench',
    dataDir: DATA_DIR,
    artifactDir: path.join(dir, 'artifacts'),
    cacheDir: path.join(dir, 'cache'),
    models: { teacher: { provider: 'openai', model: 'bench-teacher', baseUrl: provider.model.url } },
    search: { backend: 'serpapi', baseUrl: provider.search.url, apiKeyEnv: 'BENCH_SERPAPI_KEY' },
    generate: { teacher: 'teacher', tasks: generateTasks(episodes), ...(perActivity !== undefined ? { episodesPerActivity: perActivity } : {}) },
    // HotpotQA dev is also an eval split: keep everything, only generation is measured.
    curate: { requireSuccess: false, excludeEvalQuestions: false },
    datasets: [{ name: 'all', tasks: ['hotpotqa'], methods: ['react'] }],
  };
}

function startWorker(address: string): { child: ChildProcess; exited: Promise<unknown> } {
  const profile = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(args.profile)}`] : [];
  const child = spawn(process.execPath, [...WORKER_NODE_FLAGS, ...args['worker-flags'].split(' ').filter(Boolean), ...profile, '--import', 'tsx', path.join(ROOT, 'workers/main.ts')], {
    cwd: ROOT,
    env: { ...process.env, TEMPORAL_ADDRESS: address, FIREACT_LOG_LEVEL: 'WARN', FIREACT_QUEUES: TASK_QUEUE, BENCH_SERPAPI_KEY: SEARCH_KEY },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { child, exited: new Promise((r) => child.once('exit', r)) };
}

async function waitForPollers(env: TestWorkflowEnvironment, worker: ChildProcess): Promise<void> {
  const types = [temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY];
  for (const deadline = Date.now() + 180_000; Date.now() < deadline; ) {
    if (worker.exitCode !== null) throw new Error(`the worker exited with code ${worker.exitCode}`);
    const ready = await Promise.all(
      types.map(async (taskQueueType) => {
        const r = await env.client.workflowService.describeTaskQueue({ namespace: env.namespace ?? 'default', taskQueue: { name: TASK_QUEUE }, taskQueueType });
        return (r.pollers?.length ?? 0) > 0;
      }),
    );
    if (ready.every(Boolean)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the worker did not start polling within 3 minutes');
}

/** Resident set of a process now (VmRSS), in MiB. */
function rssMiB(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Peak resident set of a process (VmHWM), in MiB. */
function peakRssMiB(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far; with `thread`, only that thread of it. */
function cpuSeconds(pid: number | undefined, thread?: number): number {
  if (!pid) return NaN;
  try {
    const fields = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** CPU seconds per thread name (libuv pool, V8 GC and compiler, Temporal core, main) of a process so far. */
function cpuByThreadName(pid: number | undefined): Map<string, number> {
  const byName = new Map<string, number>();
  if (!pid) return byName;
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byName;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = Number(tid) === pid ? 'main' : (/\((.*)\)/.exec(stat)?.[1] ?? '?').replace(/[\d-]+$/, '');
      const fields = stat.split(') ')[1].split(' ');
      byName.set(name, (byName.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // the thread ended meanwhile
    }
  }
  return byName;
}

/** The dev server: the `temporal` process this one started. */
function temporalServerPid(): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const comm = /\((.*)\)/.exec(stat)?.[1];
      const ppid = Number(stat.split(') ')[1].split(' ')[1]);
      if (ppid === process.pid && comm?.startsWith('temporal')) return Number(name);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

interface RunResult {
  generateSeconds: number;
  episodes: number;
  succeeded: number;
  failed: number;
}

async function runGeneration(env: TestWorkflowEnvironment, id: string, config: ExperimentConfigInput): Promise<RunResult> {
  const result = await env.client.workflow.execute(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId: id, args: [{ config }] });
  return { generateSeconds: result.stageSeconds.generate ?? NaN, episodes: result.episodes, succeeded: result.generate.succeeded, failed: result.generate.failed };
}

async function largestHistory(env: TestWorkflowEnvironment): Promise<{ largest: number; runs: number }> {
  let largest = 0;
  let runs = 0;
  for await (const w of env.client.workflow.list()) {
    const d = await env.client.workflow.getHandle(w.workflowId, w.runId).describe();
    largest = Math.max(largest, d.historyLength);
    runs++;
  }
  return { largest, runs };
}

/**
 * A ChatModel that holds each call until every unfinished episode of the batch has asked, sends
 * them together and answers none before the slowest is back: FireAct's lock-step schedule.
 */
function lockStep(inner: ChatModel) {
  let active = 0;
  let pending: Array<{ request: ChatRequest; resolve: (r: ChatResponse) => void; reject: (e: unknown) => void }> = [];
  const flush = () => {
    if (active === 0 || pending.length < active) return;
    const step = pending;
    pending = [];
    void Promise.allSettled(step.map((p) => inner.complete(p.request))).then((results) =>
      results.forEach((r, i) => (r.status === 'fulfilled' ? step[i].resolve(r.value) : step[i].reject(r.reason))),
    );
  };
  const model: ChatModel = {
    name: inner.name,
    provider: inner.provider,
    model: inner.model,
    complete: (request) =>
      new Promise<ChatResponse>((resolve, reject) => {
        pending.push({ request, resolve, reject });
        flush();
      }),
  };
  return {
    model,
    enter: (n: number) => (active = n),
    leave: () => {
      active--;
      flush();
    },
  };
}

async function runLockStep(provider: Provider, dir: string, questions: Array<{ question: Question; method: MethodName }>): Promise<number> {
  const config = parseExperimentConfig(benchConfig(provider, dir, 1));
  const teacher = config.models.teacher;
  const inner = createOpenAIModel({ name: 'teacher', config: teacher, cache: createContentCache(path.join(dir, 'lockstep-cache')) });
  const search = createSerpApiSearch({ baseUrl: provider.search.url, apiKey: SEARCH_KEY, timeoutMs: 20_000 });
  const t0 = Date.now();
  for (let i = 0; i < questions.length; i += LOCKSTEP_BATCH) {
    const batch = questions.slice(i, i + LOCKSTEP_BATCH);
    const ls = lockStep(inner);
    ls.enter(batch.length);
    await Promise.all(
      batch.map(({ question, method }) => {
        const task = getTask(question.task);
        return runEpisode({
          question,
          method,
          model: ls.model,
          search: task.usesSearch ? search : undefined,
          score: (p, a) => task.score(p, a, scoringRuleFor(config, question.task)),
          options: { maxSteps: config.generate.maxSteps, maxMalformedRetries: config.generate.maxMalformedRetries, reflexion: config.generate.reflexion, fewShot: config.generate.fewShot },
        }).finally(() => ls.leave());
      }),
    );
  }
  return (Date.now() - t0) / 1000;
}

async function frozenQuestions(dir: string, id: string, config: ExperimentConfigInput) {
  const parsed = parseExperimentConfig(config);
  const store = createArtifactStore(parsed.artifactDir);
  const out: Array<{ question: Question; method: MethodName }> = [];
  for (const t of parsed.generate.tasks) {
    const { questions } = await store.readJson<{ questions: Question[] }>(layout.sample(id, t.task, t.split));
    for (const method of t.methods) for (const question of questions) out.push({ question, method });
  }
  return out;
}

const fmt = (n: number | undefined, digits = 1) => (n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits));

async function main(): Promise<void> {
  const episodes = positive('episodes', args.episodes)!;
  const medianMs = positive('median-ms', args['median-ms'], true)!;
  const sigma = positive('sigma', args.sigma, true)!;
  const searchMedianMs = positive('search-median-ms', args['search-median-ms'], true)!;
  const rpm = positive('rpm', args.rpm);
  const tpm = positive('tpm', args.tpm);
  const overheadEpisodes = positive('overhead-episodes', args['overhead-episodes'], true)!;
  if (!Number.isInteger(episodes)) throw new Error('--episodes must be an integer');

  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fireact-bench-'));
  const provider = await startProvider({ medianMs, sigma, searchMedianMs, rpm, tpm });
  const env = await startDevServer();
  const { child: worker, exited } = startWorker(env.address);
  // Ctrl-C stops the worker and the dev server too, not only this process.
  const stop = () => {
    worker.kill('SIGTERM');
    void env.teardown().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const lines: Array<[string, string]> = [];
  const row = (k: string, v: string) => {
    lines.push([k, v]);
    console.log(`  ${k}: ${v}`);
  };
  try {
    await waitForPollers(env, worker);
    const defaults = generationParallelism(parseExperimentConfig(benchConfig(provider, dir, episodes)));
    console.log(
      `bench: ${episodes} episodes, median ${medianMs} ms (sigma ${sigma}), search median ${searchMedianMs} ms, caps: ${rpm ?? 'none'} RPM, ${tpm ?? 'none'} TPM; ` +
        `default config: ${defaults.maxParallelShards} shards x ${defaults.episodeConcurrency} episodes at once, ${DEFAULT_ACTIVITY_SLOTS} worker slots`,
    );

    const serverPid = temporalServerPid();
    const cpuNow = () => cpuSeconds(worker.pid) + cpuSeconds(serverPid);
    let overheadMs: number | undefined;
    let overheadCpuMs: number | undefined;
    let overheadWorkerCpuMs: number | undefined;
    let overheadMainCpuMs: number | undefined;
    if (overheadEpisodes > 0) {
      // Near-zero latency and no caps: what remains is the cost of orchestrating each episode.
      const saved = { ...provider.options };
      Object.assign(provider.options, { medianMs: 0, searchMedianMs: 0, rpm: undefined, tpm: undefined });
      provider.reset();
      const cpu0 = cpuNow();
      const worker0 = cpuSeconds(worker.pid);
      // The worker's main thread runs every activity: at near-zero latency it is the bottleneck.
      const main0 = cpuSeconds(worker.pid, worker.pid);
      const threads0 = cpuByThreadName(worker.pid);
      const self0 = process.cpuUsage();
      const o = await runGeneration(env, 'bench-overhead', benchConfig(provider, path.join(dir, 'overhead'), overheadEpisodes));
      overheadMs = (o.generateSeconds * 1000) / o.episodes;
      // CPU time does not depend on what else the machine runs; wall time does.
      overheadCpuMs = ((cpuNow() - cpu0) * 1000) / o.episodes;
      overheadWorkerCpuMs = ((cpuSeconds(worker.pid) - worker0) * 1000) / o.episodes;
      overheadMainCpuMs = ((cpuSeconds(worker.pid, worker.pid) - main0) * 1000) / o.episodes;
      Object.assign(provider.options, saved);
      const threads = [...cpuByThreadName(worker.pid)].map(([name, s]) => [name, ((s - (threads0.get(name) ?? 0)) * 1000) / o.episodes] as const).filter(([, ms]) => ms >= 0.05);
      const self = process.cpuUsage(self0);
      console.log(`near-zero latency, worker CPU by thread (ms per episode): ${threads.sort((a, b) => b[1] - a[1]).map(([name, ms]) => `${name} ${fmt(ms, 2)}`).join(', ')}; this process (provider and client) ${fmt(((self.user + self.system) / 1000) / o.episodes, 2)}`);
      console.log(`near-zero latency: ${o.episodes} episodes in ${fmt(o.generateSeconds, 2)} s -> ${fmt(overheadMs)} ms per episode, ${fmt(overheadCpuMs)} ms CPU (${fmt(overheadWorkerCpuMs)} worker, ${fmt(overheadMainCpuMs)} of it its main thread, + ${fmt((overheadCpuMs ?? NaN) - (overheadWorkerCpuMs ?? NaN))} Temporal server)`);
    }

    provider.reset();
    const id = 'bench-main';
    const config = benchConfig(provider, path.join(dir, 'main'), episodes);
    const wallStart = Date.now();
    // RSS once a second, to tell generation's peak from the later stages' (curation holds every record).
    const rssSamples: Array<[number, number]> = [];
    const sampler = setInterval(() => {
      const mib = rssMiB(worker.pid);
      if (mib !== undefined) rssSamples.push([Date.now(), mib]);
    }, 1000);
    const r = await runGeneration(env, id, config).finally(() => clearInterval(sampler));
    const stages = (await env.client.workflow.getHandle(id).query<{ stages: Record<string, { startedAt?: string; endedAt?: string }> }>('progress')).stages;
    const genFrom = Date.parse(stages.generate?.startedAt ?? '');
    const genTo = Date.parse(stages.generate?.endedAt ?? '');
    const generationRss = Math.max(0, ...rssSamples.filter(([t]) => t >= genFrom && t <= genTo).map(([, m]) => m));
    const s = provider.stats;
    const spanMin = s.firstAt !== undefined && s.lastAt !== undefined ? (s.lastAt - s.firstAt) / 60_000 : NaN;
    const critical = provider.criticalPathMs() / 1000;
    const peakMiB = peakRssMiB(worker.pid);
    const hist = await largestHistory(env);
    console.log(`generation: ${r.episodes} episodes (${r.failed} failed) in ${fmt(r.generateSeconds, 2)} s; experiment wall ${fmt((Date.now() - wallStart) / 1000, 1)} s`);
    // The worker's part is done: give the lock-step reference the CPU.
    worker.kill('SIGTERM');
    await exited;

    let lockstepSeconds: number | undefined;
    if (!args['no-lockstep']) {
      const questions = await frozenQuestions(dir, id, config);
      provider.reset();
      lockstepSeconds = await runLockStep(provider, path.join(dir, 'lockstep'), questions);
    }

    console.log('\nresults');
    row('episodes', String(r.episodes));
    row('wall time (generate stage)', `${fmt(r.generateSeconds, 1)} s`);
    row('requests', `${s.requests} (${s.answered} answered, ${s.repeated} of them paid twice)`);
    row('429s', `${s.rateLimited} (${fmt((100 * s.rateLimited) / Math.max(1, s.requests), 2)}%)`);
    row('achieved RPM', `${fmt(s.answered / spanMin, 0)}${rpm ? ` of ${rpm} (${fmt(s.answered / spanMin / rpm, 3)})` : ' (no cap)'}`);
    row('achieved TPM', `${fmt(s.tokens / spanMin, 0)}${tpm ? ` of ${tpm} (${fmt(s.tokens / spanMin / tpm, 3)})` : ' (no cap)'}`);
    row('requests in flight', `mean ${fmt(s.busyMs / (spanMin * 60_000), 1)}, peak ${provider.model.maxInFlight}`);
    row('critical-path bound', `${fmt(critical, 1)} s`);
    row('wall / critical path', fmt(r.generateSeconds / critical, 2));
    row('orchestration per episode (near-zero latency)', overheadMs === undefined ? 'skipped' : `${fmt(overheadMs, 1)} ms wall, ${fmt(overheadCpuMs, 1)} ms CPU (${fmt(overheadWorkerCpuMs)} worker, ${fmt(overheadMainCpuMs)} of it its main thread, + ${fmt((overheadCpuMs ?? NaN) - (overheadWorkerCpuMs ?? NaN))} Temporal server)`);
    row('worker peak RSS', `${fmt(peakMiB, 0)} MiB (during generation ${fmt(generationRss, 0)} MiB)`);
    row('largest history', `${hist.largest} events (${hist.runs} workflow runs)`);
    if (lockstepSeconds !== undefined) {
      row('lock-step reference (batches of 200)', `${fmt(lockstepSeconds, 1)} s`);
      row('speed-up over lock-step', `${fmt(lockstepSeconds / r.generateSeconds, 2)}x`);
    }
  } finally {
    if (worker.exitCode === null && !worker.killed) worker.kill('SIGTERM');
    await exited;
    await env.teardown();
    await provider.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
