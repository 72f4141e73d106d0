// Crash: the worker runs as its own process and is killed with SIGKILL in the middle of generation;
// a new worker finishes the experiment. Every episode is present exactly once, and the local model
// server answered no request twice except those in flight at the kill (the cache answers the rest).
// "In flight" is read from the cache the killed worker left (which replies it had stored), not from
// clocks: under load a worker stores a reply well after the server sent it, and this process reads
// requests late, so any time window here would be a guess.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { TASK_QUEUE } from '../../core/ids';
import { canonicalJson, createContentCache } from '../../lib/cache/content-cache';
import { FireActExperiment } from '../../workflows';
import { fakeTeacher, startFakeOpenAIServer, type FakeOpenAIServer, type FakeRequest } from '../../scripts/support/fake-openai-server';
import { DATA_DIR, tempDir } from '../../scripts/support/paths';
import { startDevServer } from '../../scripts/support/temporal';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../../scripts/support/worker-process';

const EPISODES = 160;
let env: TestWorkflowEnvironment;
let model: FakeOpenAIServer;
let dir: string;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  dir = await tempDir('crash');
  const teacher = fakeTeacher({ searchFirst: true });
  // Slow enough that the kill lands with many episodes done and many still to come.
  model = await startFakeOpenAIServer({
    behaviour: async (body, n) => {
      const reply = await teacher(body, n);
      return { content: reply as string, delayMs: 120 };
    },
  });
  env = await startDevServer();
});

afterAll(async () => {
  for (const w of workers) await stopWorkerProcess(w);
  await env?.teardown();
  await model?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

/** The fake server's request numbers whose replies are in the cache, as a worker reads it. */
async function storedReplies(cacheDir: string): Promise<Set<number>> {
  const stored = new Set<number>();
  const cache = createContentCache(cacheDir);
  for (const key of await cache.list()) {
    const value = await cache.get<{ responseId?: unknown }>(key);
    const n = /^chatcmpl-fake-(\d+)$/.exec(String(value?.responseId))?.[1];
    if (n) stored.add(Number(n));
  }
  return stored;
}

const waitFor = async (cond: () => boolean, what: string, ms = 120_000) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

test('SIGKILL of the worker mid-generation loses nothing and pays for nothing twice', async () => {
  await fs.writeFile(
    path.join(dir, 'corpus.jsonl'),
    Array.from({ length: 40 }, (_, i) => JSON.stringify({ title: `Doc ${i}`, text: `Document ${i} mentions topic ${i} and year ${1900 + i}.` })).join('\n'),
  );
  const config = {
    name: 'crash',
    dataDir: DATA_DIR,
    artifactDir: path.join(dir, 'artifacts'),
    cacheDir: path.join(dir, 'cache'),
    models: { teacher: { provider: 'openai', model: 'fake-teacher', baseUrl: model.url, maxConcurrency: 16 } },
    search: { backend: 'local', corpus: path.join(dir, 'corpus.jsonl') },
    generate: {
      teacher: 'teacher',
      tasks: [{ task: 'hotpotqa', split: 'dev', methods: ['react'], sample: { n: EPISODES } }],
      shardSize: 40,
      maxParallelShards: 2,
      episodeConcurrency: 4,
    },
    curate: { requireSuccess: false, excludeEvalQuestions: false },
    datasets: [{ name: 'all', tasks: ['hotpotqa'], methods: ['react'] }],
  };

  workers.push(startWorkerProcess(env.address, path.join(dir, 'worker-1.log')));
  const handle = await env.client.workflow.start(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId: 'crash-run', args: [{ config }] });

  // Two model calls per episode; kill once about a third of them are answered.
  await waitFor(() => model.answered >= (EPISODES * 2) / 3, 'a third of the model calls');
  const killedAt = Date.now();
  workers[0].child.kill('SIGKILL');
  await workers[0].exited;
  const answeredAtKill = model.answered;
  // Everything the server has received so far came from the killed worker; what it had stored is on disk.
  const storedAtKill = await storedReplies(path.join(dir, 'cache', 'models'));
  const secondStartedAt = Date.now();

  workers.push(startWorkerProcess(env.address, path.join(dir, 'worker-2.log')));
  const result = await handle.result();
  const recoverySeconds = (Date.now() - killedAt) / 1000;

  // Every episode exactly once.
  assert.equal(result.episodes, EPISODES);
  assert.equal(result.curate.total, EPISODES);
  assert.equal(result.curate.drops.missing ?? 0, 0);
  const files = await fs.readdir(path.join(dir, 'artifacts', 'crash-run', 'trajectories', 'hotpotqa', 'dev', 'react'));
  assert.equal(files.filter((f) => f.endsWith('.json')).length, EPISODES);

  // Requests answered twice are only those the dead worker had in flight: sent, reply not yet stored.
  const keyOf = (body: unknown) => canonicalJson((body as { messages: unknown }).messages);
  const chat = model.requests.filter((r) => r.requestNumber > 0);
  const copies = new Map<string, FakeRequest[]>();
  for (const r of chat) copies.set(keyOf(r.body), [...(copies.get(keyOf(r.body)) ?? []), r]);
  const fromKilled = chat.filter((r) => r.receivedAt <= secondStartedAt);
  const inFlight = fromKilled.filter((r) => !storedAtKill.has(r.requestNumber));
  const twice = [...copies.values()].filter((c) => c.length > 1);
  for (const [first, ...again] of twice) {
    const what = `request #${first.requestNumber} (answered again as #${again.map((r) => r.requestNumber).join(', #')})`;
    assert.equal(again.length, 1, `${what}: no request was sent three times`);
    assert.ok(first.receivedAt <= secondStartedAt, `${what}: first sent by the killed worker`);
    assert.ok(!storedAtKill.has(first.requestNumber), `${what}: its reply was not stored when the worker was killed (in flight)`);
  }
  assert.ok(storedAtKill.size > 0, 'the killed worker had stored replies (the cache answers them)');
  assert.ok(answeredAtKill < EPISODES * 2, 'the kill came before generation ended');
  console.log(
    `crash: killed after ${answeredAtKill} of ~${EPISODES * 2} model calls; ${inFlight.length} in flight (sent, reply not stored); ` +
      `${twice.length} answered twice; ${model.completionRequests} requests in all; recovered and finished in ${recoverySeconds.toFixed(1)} s`,
  );
}, 5 * 60_000);
