// Fault 5: the trainer killed with SIGKILL at random moments (as a preempted GPU would be; a kill may
// land mid-save) together with its GPU worker, a half-written checkpoint left behind, and a new GPU
// worker started: training resumes from the newest complete checkpoint (the trainer's "resumed"
// event, step > 0), never loads a half-written one, and ends with the loss curve of an undisturbed
// run of the same command (same data order). The trainer's stdout is teed to a file through a python
// wrapper to see its events.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { StudentSchema } from '../../core/config';
import { trainCommand } from '../../lib/finetune/local/support';
import { SeededRandom } from '../../lib/tasks/sampling';
import { createTrainerPythonResolver, startProcess, type TrainerEvent } from '../../lib/finetune/local/trainer-process';
import { fakeTeacher, startFakeOpenAIServer } from '../support/fake-openai-server';
import { tempDir } from '../support/paths';
import { startDevServer } from '../support/temporal';
import { chaosConfig, checkOutcome, runBaseline, sleep, startExperiment, waitFor, Workers, writeCorpus, type ChaosRow } from './harness';

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

export async function runTrainerKillChaos(p: { episodes: number; kills: number; maxSteps: number; seed?: number }): Promise<ChaosRow> {
  const seed = p.seed ?? Date.now() % 1_000_000;
  // Seeded, so a failing run can be repeated with its seed (printed in the note).
  const random = new SeededRandom(seed);
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
    const killedAt: number[] = [];
    for (let k = 0; k < p.kills; k++) {
      // Training under way (a first checkpoint, or this attempt's resume and a step after it), then a
      // random moment: between steps, mid-step or mid-save.
      if (k === 0) await waitFor(async () => (await complete()).length > 0, 'a first complete checkpoint', 300_000);
      else await waitFor(async () => stepsAfterResume(await readEvents(events), k) > 0, 'a step after the resume', 180_000);
      await sleep(random.below(3000));
      const all = await checkpoints();
      const outDir = path.dirname(all[0]);
      if (await fs.stat(path.join(outDir, 'result.json')).then(() => true, () => false)) break; // finished first
      for (const pid of await pidsWith(outDir)) process.kill(pid, 'SIGKILL');
      await workers.kill(gpu);
      firstKill ||= Date.now();
      const seen = await readEvents(events);
      killedAt.push(seen.filter((e) => e.event === 'step').at(-1)?.step ?? 0);
      // A checkpoint the kill cut short: newer than any there, without its marker.
      const newest = Math.max(0, ...(await checkpoints()).map(stepOf));
      const half = path.join(outDir, `checkpoint-${newest + 1000}`);
      await fs.mkdir(half, { recursive: true });
      await fs.writeFile(path.join(half, 'model.safetensors'), 'half-written');
      halfWritten.push(half);
      gpu = workers.start({ FIREACT_QUEUES: 'fireact-gpu' }, 'gpu');
      // The retry waits out the heartbeat timeout (30 s) and a backoff that doubles per attempt from 10 s.
      const retryMs = Math.min(120_000 + 10_000 * 2 ** (k + 1), 420_000);
      await waitFor(async () => (await readEvents(events)).filter((e) => e.event === 'resumed').length >= k + 1, 'the trainer to resume', retryMs);
    }
    const result = await handle.result();
    const recoverSeconds = (Date.now() - firstKill) / 1000;
    const outcome = await checkOutcome(result, baseline, p.episodes);

    const all = await readEvents(events);
    const resumed = all.filter((e) => e.event === 'resumed');
    assert.equal(resumed.length, killedAt.length, 'one resume per kill');
    for (const r of resumed) {
      assert.ok((r.step ?? 0) > 0, `resumed at step ${r.step} > 0`);
      assert.ok(!halfWritten.includes(String(r.path)), `never resumed from the half-written ${String(r.path)}`);
      assert.ok(/checkpoint-\d+$/.test(String(r.path)) && (r.step ?? 0) < p.maxSteps);
    }
    assert.equal(result.students.length, 1, 'one model');
    assert.equal(result.students[0].steps, p.maxSteps, 'trained to the end');

    // The same command, undisturbed, from the same base model and dataset: the same loss at every step
    // (the last value logged for a step, since steps after the newest checkpoint ran twice).
    const kept = await checkpoints();
    assert.ok(kept.length > 0, 'the finished run keeps its newest checkpoints');
    const modelOut = path.dirname(kept[0]);
    const done = JSON.parse(await fs.readFile(path.join(modelOut, 'result.json'), 'utf8')) as { base_model: string; data: string };
    const cmd = trainCommand(StudentSchema.parse(student), { python: realPython, baseModel: done.base_model, datasetPath: done.data, outDir: path.join(dir, 'undisturbed') });
    const quiet: TrainerEvent[] = [];
    const run = startProcess(cmd.command, cmd.args, (e) => quiet.push(e));
    assert.equal((await run.done).code, 0, 'the undisturbed run finished');
    const curve = lossCurve(all);
    const reference = lossCurve(quiet);
    assert.equal(reference.size, p.maxSteps);
    assert.deepEqual([...curve.keys()].sort((a, b) => a - b), [...reference.keys()].sort((a, b) => a - b), 'every step logged');
    let worst = 0;
    for (const [step, loss] of reference) worst = Math.max(worst, Math.abs(loss - curve.get(step)!));
    assert.ok(worst <= 2e-6, `loss curves differ by up to ${worst}`);
    return {
      fault: 'trainer SIGKILL at random moments + GPU worker restart',
      runs: killedAt.length,
      ...outcome,
      callsPaidTwice: 0,
      recoverSeconds,
      note: `killed after steps ${killedAt.join(', ')}, resumed at ${resumed.map((r) => r.step).join(', ')} of ${p.maxSteps} (seed ${seed}); half-written checkpoints never loaded; loss curve = undisturbed run (max diff ${worst})`,
    };
  } finally {
    await workers.stopAll();
    await env.teardown();
    await model.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Steps logged after the k-th resume. */
function stepsAfterResume(all: Array<{ event?: string }>, k: number): number {
  let resumes = 0;
  let steps = 0;
  for (const e of all) {
    if (e.event === 'resumed') resumes++;
    else if (e.event === 'step' && resumes >= k) steps++;
  }
  return steps;
}

function lossCurve(all: Array<{ event?: string; step?: unknown; loss?: unknown }>): Map<number, number> {
  const curve = new Map<number, number>();
  for (const e of all) if (e.event === 'step' && typeof e.step === 'number' && typeof e.loss === 'number') curve.set(e.step, e.loss);
  return curve;
}

async function readEvents(file: string): Promise<Array<{ event?: string; step?: number; path?: string; loss?: number }>> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as { event?: string; step?: number; path?: string; loss?: number };
      } catch {
        return {};
      }
    });
}
