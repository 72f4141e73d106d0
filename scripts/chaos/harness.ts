// The shared fault-injection harness: one config builder, one way to run an experiment, and one
// outcome check (every episode and dataset present exactly once, no temp file taken for an artifact,
// dataset hashes equal to an undisturbed run with the same seed). Fast tests and `npm run chaos` use
// the same functions with different counts.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { canonicalJson } from '../../lib/cache/content-cache';
import { TASK_QUEUE } from '../../core/ids';
import { FireActExperiment } from '../../workflows';
import type { FakeBehaviour, FakeRequest } from '../support/fake-openai-server';
import { DATA_DIR } from '../support/paths';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../support/worker-process';
import type { ExperimentResult } from '../../activities/contracts';

/** One row of the table `npm run chaos` prints. */
export interface ChaosRow {
  fault: string;
  runs: number;
  episodesLost: number;
  duplicates: number;
  callsPaidTwice: number;
  /** Seconds from the (first) fault to the experiment's end, or a note. */
  recoverSeconds: number | string;
  tempFilesLeft?: number;
  note?: string;
}

export interface ChaosConfigOptions {
  name: string;
  dir: string;
  /** Folder name under dir for artifacts and cache (a fresh one per run). */
  run: string;
  teacherUrl: string;
  episodes: number;
  teacherTimeoutMs?: number;
  maxConcurrency?: number;
  search?: Record<string, unknown>;
  students?: unknown[];
  shardSize?: number;
  maxParallelShards?: number;
  episodeConcurrency?: number;
}

/** A small deterministic corpus for the local search backend. */
export async function writeCorpus(dir: string): Promise<string> {
  const file = path.join(dir, 'corpus.jsonl');
  await fs.writeFile(
    file,
    Array.from({ length: 40 }, (_, i) => JSON.stringify({ title: `Doc ${i}`, text: `Document ${i} mentions topic ${i} and year ${1900 + i}.` })).join('\n'),
  );
  return file;
}

export function chaosConfig(o: ChaosConfigOptions): Record<string, unknown> {
  return {
    name: o.name,
    dataDir: DATA_DIR,
    artifactDir: path.join(o.dir, o.run, 'artifacts'),
    cacheDir: path.join(o.dir, o.run, 'cache'),
    models: {
      teacher: {
        provider: 'openai',
        model: 'fake-teacher',
        baseUrl: o.teacherUrl,
        maxConcurrency: o.maxConcurrency ?? 16,
        ...(o.teacherTimeoutMs ? { timeoutMs: o.teacherTimeoutMs } : {}),
      },
    },
    search: o.search ?? { backend: 'local', corpus: path.join(o.dir, 'corpus.jsonl') },
    generate: {
      teacher: 'teacher',
      tasks: [{ task: 'hotpotqa', split: 'dev', methods: ['react'], sample: { n: o.episodes, seed: 7 } }],
      shardSize: o.shardSize ?? 25,
      maxParallelShards: o.maxParallelShards ?? 2,
      episodeConcurrency: o.episodeConcurrency ?? 4,
    },
    curate: { requireSuccess: false, excludeEvalQuestions: false },
    datasets: [{ name: 'all', tasks: ['hotpotqa'], methods: ['react'] }],
    ...(o.students ? { students: o.students } : {}),
  };
}

export function startExperiment(client: Client, workflowId: string, config: unknown) {
  return client.workflow.start(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId, args: [{ config }] });
}

/** Runs the undisturbed baseline with its own worker process and returns its result. */
export async function runBaseline(
  client: Client,
  address: string,
  workflowId: string,
  config: unknown,
  logFile: string,
  workerEnv: NodeJS.ProcessEnv = {},
): Promise<ExperimentResult> {
  const worker = startWorkerProcess(address, logFile, workerEnv);
  try {
    return await (await startExperiment(client, workflowId, config)).result();
  } finally {
    await stopWorkerProcess(worker);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, ms = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

export interface OutcomeCounts {
  episodesLost: number;
  duplicates: number;
  /** Temp files a cut-off write left behind (never read: readers skip *.tmp-*). */
  tempFilesLeft: number;
}

/** Names of every file under dir, recursively (relative paths). */
async function walk(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true }).catch(() => [])) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) out.push(...(await walk(dir, r)));
    else out.push(r);
  }
  return out;
}

/**
 * The same outcome for every fault: all episodes present exactly once (and each trajectory file
 * parses), every dataset once, no temp file left where a reader could take it, and dataset hashes
 * equal to the baseline's. Asserts, and returns the counts for the table.
 */
export async function checkOutcome(result: ExperimentResult, baseline: ExperimentResult, expectedEpisodes: number): Promise<OutcomeCounts> {
  const trajDir = path.join(result.artifactDir, result.experiment, 'trajectories', 'hotpotqa', 'dev', 'react');
  const names = await fs.readdir(trajDir);
  const json = names.filter((f) => f.endsWith('.json'));
  const ids = new Set<string>();
  let duplicates = 0;
  for (const f of json) {
    const record = JSON.parse(await fs.readFile(path.join(trajDir, f), 'utf8')) as { question?: { id?: string } };
    const id = record.question?.id ?? f;
    if (ids.has(id)) duplicates++;
    ids.add(id);
  }
  const episodesLost = Math.max(0, expectedEpisodes - ids.size);
  const leftovers = (await walk(result.artifactDir)).filter((f) => f.includes('.tmp-'));

  assert.equal(result.episodes, expectedEpisodes, 'the experiment planned every episode');
  assert.equal(result.curate.total, expectedEpisodes, 'curation saw every episode');
  assert.equal(result.curate.drops.missing ?? 0, 0, 'no episode missing at curation');
  assert.equal(json.length, expectedEpisodes, 'one trajectory file per episode');
  assert.equal(episodesLost, 0, 'no episode lost');
  assert.equal(duplicates, 0, 'no episode twice');
  // A write cut off by the fault may leave its temp file behind (as a SIGKILL can); the check is
  // that no reader takes one as complete: the counts above come from *.json names only, and the
  // curated set holds exactly one record per episode.
  const curated = (await fs.readFile(path.join(result.artifactDir, result.curate.curated.path), 'utf8'))
    .split('\n')
    .filter(Boolean);
  const curatedIds = new Set(curated.map((l) => (JSON.parse(l) as { id?: string }).id));
  assert.equal(curated.length, result.curate.kept, 'the curated set holds what curation kept');
  assert.equal(curatedIds.size, curated.length, 'no record twice in the curated set');
  assert.deepEqual(
    result.datasets.map((d) => d.name),
    baseline.datasets.map((d) => d.name),
    'every dataset exactly once',
  );
  assert.deepEqual(datasetHashes(result), datasetHashes(baseline), 'dataset hashes equal the undisturbed run');
  return { episodesLost, duplicates, tempFilesLeft: leftovers.length };
}

export function datasetHashes(r: ExperimentResult): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of r.datasets) for (const [format, f] of Object.entries(d.files)) if (f) out[`${d.name}.${format}`] = f.sha256;
  return out;
}

const keyOf = (body: unknown) => canonicalJson((body as { messages?: unknown }).messages ?? body);

/**
 * Requests whose identical body the server answered (with content) more than once, and how many of
 * those were not in flight at any of the kill times (the ones the cache should have answered).
 */
export function paidTwice(requests: readonly FakeRequest[], killTimes: number[]): { twice: number; notInFlight: number; inFlight: number } {
  const answered = new Map<string, number>();
  for (const r of requests) if (r.requestNumber > 0 && r.outcome === 'ok') answered.set(keyOf(r.body), (answered.get(keyOf(r.body)) ?? 0) + 1);
  const inFlight = new Set(
    requests
      .filter((r) => r.requestNumber > 0 && killTimes.some((k) => r.receivedAt <= k && (r.endedAt === undefined || r.endedAt >= k - 100)))
      .map((r) => keyOf(r.body)),
  );
  const twice = [...answered].filter(([, n]) => n > 1);
  return { twice: twice.reduce((s, [, n]) => s + n - 1, 0), notInFlight: twice.filter(([k]) => !inFlight.has(k)).length, inFlight: inFlight.size };
}

/** Every worker process started by a fault test, stopped at the end. */
export class Workers {
  readonly all: WorkerProcess[] = [];
  constructor(
    private readonly address: () => string,
    private readonly dir: string,
    private readonly env: NodeJS.ProcessEnv = {},
  ) {}
  start(extraEnv: NodeJS.ProcessEnv = {}, label = 'worker'): WorkerProcess {
    const w = startWorkerProcess(this.address(), path.join(this.dir, `${label}-${this.all.length + 1}.log`), { ...this.env, ...extraEnv });
    this.all.push(w);
    return w;
  }
  async kill(w: WorkerProcess): Promise<void> {
    w.child.kill('SIGKILL');
    await w.exited;
  }
  async stopAll(): Promise<void> {
    for (const w of this.all) await stopWorkerProcess(w);
  }
  async logs(): Promise<string> {
    const texts = await Promise.all(this.all.map((_, i) => fs.readFile(path.join(this.dir, `worker-${i + 1}.log`), 'utf8').catch(() => '')));
    return texts.join('\n');
  }
}

/** A fake teacher's answer with a small delay, so faults land while calls are in flight. */
export function slowed(teacher: FakeBehaviour, delayMs: number): FakeBehaviour {
  return async (body, n) => {
    const reply = await teacher(body, n);
    return { content: reply as string, delayMs };
  };
}

export function formatTable(rows: ChaosRow[]): string {
  const head = ['fault', 'runs', 'episodes lost', 'duplicates', 'calls paid twice', 'time to recover'];
  const lines = rows.map((r) => [
    r.fault,
    String(r.runs),
    String(r.episodesLost),
    String(r.duplicates),
    String(r.callsPaidTwice),
    typeof r.recoverSeconds === 'number' ? `${r.recoverSeconds.toFixed(1)} s` : r.recoverSeconds,
  ]);
  const table = [head, head.map(() => '---'), ...lines].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.fault}: ${r.note}`);
  return notes.length ? `${table}\n\n${notes.join('\n')}` : table;
}
