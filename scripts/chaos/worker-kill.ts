// Fault 1: the API worker SIGKILLed at random points of generation, a new one started after each
// kill. Counts the model calls paid twice (the same request body answered more than once).
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { fakeTeacher, startFakeOpenAIServer } from '../support/fake-openai-server';
import { tempDir } from '../support/paths';
import { startDevServer } from '../support/temporal';
import { chaosConfig, checkOutcome, paidTwice, runBaseline, slowed, startExperiment, waitFor, Workers, writeCorpus, type ChaosRow } from './harness';

export interface WorkerKillParams {
  episodes: number;
  kills: number;
  /** Seed of the kill points (a simple LCG, so a failing run can be repeated). */
  seed?: number;
}

export async function runWorkerKillChaos(p: WorkerKillParams): Promise<ChaosRow> {
  const dir = await tempDir('chaos-kill');
  await writeCorpus(dir);
  const model = await startFakeOpenAIServer({ behaviour: fakeTeacher({ searchFirst: true }) });
  const env = await startDevServer();
  const workers = new Workers(() => env.address, dir);
  try {
    const cfg = (run: string) => chaosConfig({ name: 'chaos-kill', dir, run, teacherUrl: model.url, episodes: p.episodes });
    const baseline = await runBaseline(env.client, env.address, 'kill-baseline', cfg('baseline'), `${dir}/baseline.log`);
    model.clearLog();
    model.setBehaviour(slowed(fakeTeacher({ searchFirst: true }), 60));

    const calls = p.episodes * 2;
    let rand = p.seed ?? 12345;
    const next = () => ((rand = (rand * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    // Kill points spread over the first 90% of the calls, in order, each at a random place in its slot.
    const slot = (calls * 0.9) / p.kills;
    const points = Array.from({ length: p.kills }, (_, i) => Math.floor(slot * (i + 0.2 + 0.6 * next())));

    let worker = workers.start();
    const handle = await startExperiment(env.client, 'kill-run', cfg('chaos'));
    const killTimes: number[] = [];
    for (const point of points) {
      await waitFor(() => model.answered >= point, `${point} answered model calls`, 300_000);
      killTimes.push(Date.now());
      await workers.kill(worker);
      worker = workers.start();
    }
    const result = await handle.result();
    const recoverSeconds = (Date.now() - killTimes[0]) / 1000;
    const outcome = await checkOutcome(result, baseline, p.episodes);
    const paid = paidTwice(model.requests, killTimes);
    assert.equal(paid.notInFlight, 0, 'every call answered twice was in flight at a kill (the cache answered the rest)');
    assert.ok(killTimes.length === p.kills);
    return {
      fault: 'worker SIGKILL',
      runs: p.kills,
      ...outcome,
      callsPaidTwice: paid.twice,
      recoverSeconds,
      note: `${p.kills} kills over ${p.episodes} episodes; ${paid.twice} calls paid twice, all in flight at a kill (${paid.inFlight} in flight in all); ${model.completionRequests} requests`,
    };
  } finally {
    await workers.stopAll();
    await env.teardown();
    await model.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}
