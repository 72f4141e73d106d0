// Fault 5: the trainer killed with SIGKILL (as a preempted GPU would be) together with its GPU worker,
// a half-written checkpoint left behind, and a new GPU worker started: training resumes from the
// newest complete checkpoint (the trainer's "resumed" event, step > 0) and never loads the
// half-written one. The trainer's stdout is teed to a file through a python wrapper to see its events.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createTrainerPythonResolver } from '../../lib/finetune/local/trainer-process';
import { fakeTeacher, startFakeOpenAIServer } from '../support/fake-openai-server';
import { tempDir } from '../support/paths';
import { startDevServer } from '../support/temporal';
import { chaosConfig, checkOutcome, runBaseline, startExperiment, waitFor, Workers, writeCorpus, type ChaosRow } from './harness';

async function pidsWith(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmd = await fs.readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(needle) && cmd.includes('fireact_trainer')) pids.push(Number(name));
  }
  return pids;
}

const COMPLETE = 'COMPLETE';

export async function runTrainerKillChaos(p: { episodes: number; kills: number; maxSteps: number }): Promise<ChaosRow> {
  const dir = await tempDir('chaos-trainer');
  await writeCorpus(dir);
  const realPython = await createTrainerPythonResolver()();
  const events = path.join(dir, 'trainer-events.jsonl');
  const wrapper = path.join(dir, 'python');
  await fs.writeFile(wrapper, `#!/usr/bin/env bash\nexec "${realPython}" "$@" > >(tee -a "${events}")\n`, { mode: 0o755 });
  const model = await startFakeOpenAIServer({ behaviour: fakeTeacher({ searchFirst: true }) });
  const env = await startDevServer();
  const workers = new Workers(() => env.address, dir, { FIREACT_TRAINER_PYTHON: wrapper });
  try {
    const student = {
      name: 'tiny',
      backend: 'local',
      baseModel: 'init',
      init: { hidden: 32, layers: 1, heads: 2 },
      mode: 'full',
      datasets: ['all'],
      maxSteps: p.maxSteps,
      saveEvery: 5,
      batchSize: 2,
      maxLen: 256,
      learningRate: 0.003,
    };
    const cfg = (run: string, students?: unknown[]) => chaosConfig({ name: 'chaos-trainer', dir, run, teacherUrl: model.url, episodes: p.episodes, students });
    // The datasets are built before fine-tuning, so the baseline needs no student.
    const baseline = await runBaseline(env.client, env.address, 'trainer-baseline', cfg('baseline'), `${dir}/baseline.log`);

    workers.start({ FIREACT_QUEUES: 'fireact' }, 'api');
    let gpu = workers.start({ FIREACT_QUEUES: 'fireact-gpu' }, 'gpu');
    const handle = await startExperiment(env.client, 'trainer-run', cfg('chaos', [student]));
    const modelsDir = path.join(dir, 'chaos', 'artifacts', 'trainer-run');
    const checkpoints = async (): Promise<string[]> => {
      const found: string[] = [];
      const walk = async (d: string, depth: number): Promise<void> => {
        for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
          if (!e.isDirectory()) continue;
          const full = path.join(d, e.name);
          if (/^checkpoint-\d+$/.test(e.name)) found.push(full);
          else if (depth < 4) await walk(full, depth + 1);
        }
      };
      await walk(modelsDir, 0);
      return found;
    };
    const stepOf = (c: string) => Number(/checkpoint-(\d+)$/.exec(c)![1]);
    const complete = async () => {
      const out: string[] = [];
      for (const c of await checkpoints()) if (await fs.stat(path.join(c, COMPLETE)).then(() => true, () => false)) out.push(c);
      return out;
    };

    let firstKill = 0;
    const halfWritten: string[] = [];
    let newestAtKill = 0;
    for (let k = 0; k < p.kills; k++) {
      // Kill once a complete checkpoint past the last resume point exists.
      await waitFor(async () => (await complete()).some((c) => stepOf(c) > newestAtKill), 'a new complete checkpoint', 300_000);
      const done = await complete();
      const outDir = path.dirname(done[0]);
      for (const pid of await pidsWith(outDir)) process.kill(pid, 'SIGKILL');
      await workers.kill(gpu);
      firstKill ||= Date.now();
      newestAtKill = Math.max(...(await complete()).map(stepOf));
      // A checkpoint the kill cut short: newer than any complete one, without its marker.
      const half = path.join(outDir, `checkpoint-${newestAtKill + 1000}`);
      await fs.mkdir(half, { recursive: true });
      await fs.writeFile(path.join(half, 'model.safetensors'), 'half-written');
      halfWritten.push(half);
      gpu = workers.start({ FIREACT_QUEUES: 'fireact-gpu' }, 'gpu');
      const resumedSoFar = k + 1;
      await waitFor(async () => (await readEvents(events)).filter((e) => e.event === 'resumed').length >= resumedSoFar, 'the trainer to resume', 120_000);
    }
    const result = await handle.result();
    const recoverSeconds = (Date.now() - firstKill) / 1000;
    const outcome = await checkOutcome(result, baseline, p.episodes);

    const resumed = (await readEvents(events)).filter((e) => e.event === 'resumed');
    assert.equal(resumed.length, p.kills, 'one resume per kill');
    for (const r of resumed) {
      assert.ok((r.step ?? 0) > 0, `resumed at step ${r.step} > 0`);
      assert.ok(!halfWritten.includes(String(r.path)), `never resumed from the half-written ${String(r.path)}`);
      assert.ok(/checkpoint-\d+$/.test(String(r.path)) && (r.step ?? 0) < p.maxSteps);
    }
    assert.equal(result.students.length, 1, 'one model');
    assert.equal(result.students[0].steps, p.maxSteps, 'trained to the end');
    return {
      fault: 'trainer SIGKILL + GPU worker restart',
      runs: p.kills,
      ...outcome,
      callsPaidTwice: 0,
      recoverSeconds,
      note: `resumed at steps ${resumed.map((r) => r.step).join(', ')} of ${p.maxSteps}; half-written checkpoints never loaded`,
    };
  } finally {
    await workers.stopAll();
    await env.teardown();
    await model.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function readEvents(file: string): Promise<Array<{ event?: string; step?: number; path?: string }>> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as { event?: string; step?: number; path?: string };
      } catch {
        return {};
      }
    });
}
