// `npm run bench:curation [-- --episodes 30000]`: the stages after generation at the size of a large
// experiment, in this one process: stores N trajectories through the real runEpisodes activity (the
// bench's teacher and an instant search answered in-process, no network), then runs the curate and
// buildDatasets activities, and prints each stage's time, the process's peak RSS during it and the
// longest event-loop stall (a stall past the heartbeat timeout would time the activity out).
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
// The benchmark measures the activities themselves (their memory and event-loop stalls), so it runs them.
// eslint-disable-next-line no-restricted-imports
import { createActivities } from '../../activities';
import type { CurateResult, DatasetResult, EpisodesResult, PrepareResult } from '../../activities/contracts';
import { createClientProvider } from '../../lib/experiment/clients';
import type { ChatModel } from '../../lib/models/types';
import type { SearchBackend } from '../../lib/tools/types';
import type { ExperimentConfigInput } from '../../core/config';
import { teacherReply } from './provider';
import { generateTasks } from './workload';

const ROOT = path.resolve(__dirname, '../..');
const DATA_DIR = process.env.FIREACT_DATA_DIR ?? path.resolve(ROOT, '../shared/fireact');
/** Episodes stored at once (each chunk is one runEpisodes activity, as a shard runs them). */
const CHUNK = 10;
const IN_FLIGHT = 50;

const { values: args } = parseArgs({ options: { episodes: { type: 'string', default: '30000' } } });

function rssMiB(): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return kb ? Number(kb) / 1024 : process.memoryUsage().rss / 2 ** 20;
}

/** Runs `fn`, sampling RSS every 100 ms and the event loop's delay; what the stage cost. */
async function stage<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let peak = rssMiB();
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB())), 100);
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    clearInterval(sampler);
    delay.disable();
    peak = Math.max(peak, rssMiB());
    console.log(`  ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s, peak RSS ${peak.toFixed(0)} MiB, longest event-loop stall ${(delay.max / 1e6).toFixed(0)} ms`);
  }
}

async function main(): Promise<void> {
  const episodes = Number(args.episodes);
  if (!Number.isInteger(episodes) || episodes < 1) throw new Error(`--episodes must be a positive integer, got ${JSON.stringify(args.episodes)}`);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fireact-bench-curation-'));
  // The bench's teacher, asked in-process: the same trajectories `npm run bench` stores, without its latency.
  const teacher: ChatModel = {
    name: 'teacher',
    provider: 'openai',
    model: 'bench-teacher',
    complete: (request) => {
      const { content } = teacherReply({ messages: request.messages, stop: request.stop }, 6);
      const prompt = request.messages.map((m) => m.content).join('\n');
      return Promise.resolve({ content, promptTokens: Math.ceil(prompt.length / 4), completionTokens: Math.ceil(content.length / 4), cached: false });
    },
  };
  const search: SearchBackend = { name: 'bench', search: (r) => Promise.resolve({ observation: `Results for ${r.query}: nothing more to say.`, backend: 'bench', cached: false }) };
  const clients = { ...createClientProvider({}), model: () => Promise.resolve(teacher), search: () => Promise.resolve(search) };
  const acts = createActivities({ clients, env: {} });
  const config: ExperimentConfigInput = {
    name: 'bench-curation',
    dataDir: DATA_DIR,
    artifactDir: path.join(dir, 'artifacts'),
    cacheDir: path.join(dir, 'cache'),
    models: { teacher: { provider: 'openai', model: 'bench-teacher', baseUrl: 'http://127.0.0.1:9/v1' } },
    search: { backend: 'local' },
    generate: { teacher: 'teacher', tasks: generateTasks(episodes) },
    curate: { requireSuccess: false, excludeEvalQuestions: false },
    datasets: [
      { name: 'react', tasks: ['hotpotqa', 'strategyqa'], methods: ['react'] },
      { name: 'all', tasks: ['hotpotqa', 'strategyqa'], methods: ['react', 'cot', 'io', 'reflexion'] },
    ],
  };
  const env = new MockActivityEnvironment();
  try {
    console.log(`bench:curation: ${episodes} episodes`);
    const prep = (await env.run(acts.prepareExperiment, { experiment: 'bench-curation', config })) as PrepareResult;
    await stage('store trajectories (runEpisodes, in-process teacher)', async () => {
      const chunks = prep.shards.flatMap((s) => {
        const out: Array<{ s: typeof s; from: number; to: number }> = [];
        for (let from = s.start; from < s.end; from += CHUNK) out.push({ s, from, to: Math.min(s.end, from + CHUNK) });
        return out;
      });
      let next = 0;
      const lane = async () => {
        while (next < chunks.length) {
          const { s, from, to } = chunks[next++];
          const r = (await new MockActivityEnvironment().run(acts.runEpisodes, { handle: prep.handle, task: s.task, method: s.method, samplePath: s.samplePath, from, to })) as EpisodesResult;
          if (r.failed.length) throw new Error(`episode ${r.failed[0].index} of ${s.task} ${s.method} failed: ${r.failed[0].message}`);
        }
      };
      await Promise.all(Array.from({ length: Math.ceil(IN_FLIGHT / CHUNK) }, lane));
    });
    const curated = await stage('curate', async () => (await env.run(acts.curate, { handle: prep.handle, shards: prep.shards })) as CurateResult);
    console.log(`    ${curated.total} trajectories, ${curated.kept} kept, drops ${JSON.stringify(curated.drops)}; curated.jsonl ${(curated.curated.bytes / 2 ** 20).toFixed(0)} MiB`);
    const datasets = await stage('buildDatasets', async () => (await env.run(acts.buildDatasets, { handle: prep.handle, curated: curated.curated })) as DatasetResult[]);
    for (const d of datasets) console.log(`    ${d.name}: ${d.records} records, ${Object.values(d.files).map((f) => `${path.basename(f.path)} ${(f.bytes / 2 ** 20).toFixed(0)} MiB`).join(', ')}`);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench:curation: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
