// Fault 2: the Temporal dev server stopped and restarted on the same SQLite file and port, once in
// the middle of generation and once in the middle of fine-tuning (backend "openai" against the fake
// fine-tuning server). The worker processes stay up and must reconnect on their own; the experiment
// finishes with one upload and one job, every episode once, datasets as undisturbed.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startFakeFineTuneServer } from '../support/fake-finetune-server';
import { fakeTeacher, startFakeOpenAIServer } from '../support/fake-openai-server';
import { tempDir } from '../support/paths';
import { startDevServer } from '../support/temporal';
import { chaosConfig, checkOutcome, runBaseline, sleep, slowed, startExperiment, waitFor, Workers, writeCorpus, type ChaosRow } from './harness';
import type { ExperimentResult } from '../../activities/contracts';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const KEY_ENV = 'CHAOS_FT_KEY';

export async function runTemporalRestartChaos(p: { episodes: number; downMs: number }): Promise<ChaosRow> {
  const dir = await tempDir('chaos-temporal');
  await writeCorpus(dir);
  const model = await startFakeOpenAIServer({ behaviour: fakeTeacher({ searchFirst: true }) });
  const ft = await startFakeFineTuneServer({ stepMs: 100, totalSteps: 120 });
  const dbFilename = path.join(dir, 'temporal.db');
  const port = await freePort();
  let env: TestWorkflowEnvironment = await startDevServer({ dbFilename, port });
  const workers = new Workers(() => env.address, dir, { [KEY_ENV]: ft.apiKey });
  const restart = async () => {
    await env.teardown();
    await sleep(p.downMs);
    env = await startDevServer({ dbFilename, port });
  };
  try {
    const students = [{ name: 'gpt35', backend: 'openai', baseModel: 'gpt-3.5-turbo-0125', baseUrl: ft.url, apiKeyEnv: KEY_ENV, datasets: ['all'], nEpochs: 1 }];
    const cfg = (run: string, withStudents: boolean) =>
      chaosConfig({ name: 'chaos-temporal', dir, run, teacherUrl: model.url, episodes: p.episodes, students: withStudents ? students : undefined });
    const baseline = await runBaseline(env.client, env.address, 'temporal-baseline', cfg('baseline', false), `${dir}/baseline.log`);
    model.clearLog();
    model.setBehaviour(slowed(fakeTeacher({ searchFirst: true }), 60));

    workers.start();
    await startExperiment(env.client, 'temporal-run', cfg('chaos', true));
    await waitFor(() => model.answered >= p.episodes * 0.6, 'generation under way');
    const firstFault = Date.now();
    await restart();
    await waitFor(() => ft.jobs().some((j) => j.status === 'running'), 'the fine-tuning job to run', 300_000);
    await sleep(1000);
    await restart();
    const result: ExperimentResult = await env.client.workflow.getHandle('temporal-run').result();
    const recoverSeconds = (Date.now() - firstFault) / 1000;
    const outcome = await checkOutcome(result, baseline, p.episodes);
    assert.equal(ft.uploads, 1, 'one upload');
    assert.equal(ft.jobCreations, 1, 'one fine-tuning job');
    assert.equal(result.students.length, 1, 'one model');
    assert.match(result.students[0].fineTunedModel ?? '', /^ft:/);
    assert.ok(workers.all.length === 1, 'the same worker process served the whole run');
    return {
      fault: 'Temporal server restart',
      runs: 2,
      ...outcome,
      callsPaidTwice: 0,
      recoverSeconds,
      note: `server down ${p.downMs} ms twice (generation, fine-tuning); the worker reconnected by itself; one upload, one job`,
    };
  } finally {
    await workers.stopAll();
    await env.teardown();
    await ft.close();
    await model.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}
