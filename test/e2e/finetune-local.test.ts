// Backend "local" at the activity level, with the real trainer: a trainer killed mid-training (as a
// preempted GPU would be) fails the attempt, and the retry resumes from the newest complete
// checkpoint with the step counter going on; a cancelled activity leaves no trainer process behind.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, test } from '@jest/globals';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger } from '@temporalio/worker';
import { StudentSchema } from '../../core/config';
import { ErrorType } from '../../core/errors';
import { createLocalFineTuneActivities } from '../../activities/finetune-local';
import { createTrainerPythonResolver } from '../../lib/finetune/local/trainer-process';
import { trainingLine } from '../../scripts/cli/render';
import { DATA_DIR, tempDir } from '../../scripts/support/paths';
import type { LocalTrainInput } from '../../activities/contracts';

let dir: string;
let data: string;
const python = createTrainerPythonResolver();
const activities = createLocalFineTuneActivities({ python });

beforeAll(async () => {
  dir = await tempDir('ftlocal');
  data = path.join(dir, 'train.jsonl');
  const lines = (await fs.readFile(path.join(DATA_DIR, 'finetune', 'gpt_format', 'hotpotqa.jsonl'), 'utf8')).split('\n').slice(0, 40);
  await fs.writeFile(data, lines.join('\n') + '\n');
  await python(); // the trainer's environment, made once (cached outside the clone)
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** Pids of live processes whose command line mentions `needle`. */
async function processesWith(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmd = await fs.readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(needle)) pids.push(Number(name));
  }
  return pids;
}

function input(name: string, maxSteps: number, over: Record<string, unknown> = {}): LocalTrainInput {
  const student = StudentSchema.parse({
    name,
    backend: 'local',
    baseModel: 'init',
    init: { hidden: 32, layers: 1, heads: 2 },
    mode: 'full',
    datasets: ['d'],
    maxSteps,
    saveEvery: 5,
    batchSize: 2,
    maxLen: 256,
    learningRate: 0.003,
    ...over,
  });
  return { student, datasetName: 'd', datasetPath: data, baseDir: path.join(dir, `${name}-base`), outDir: path.join(dir, `${name}-out`) };
}

function watched(onDetails: (d: { event?: string; step?: number }) => void): MockActivityEnvironment {
  const env = new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });
  env.on('heartbeat', (d: unknown) => onDetails((d ?? {}) as { event?: string; step?: number }));
  return env;
}

test('a trainer killed mid-training: the retry resumes from its checkpoint, steps continue', async () => {
  const job = input('preempt', 60);
  let killed = false;
  const first = watched((d) => {
    if (!killed && d.event === 'step' && (d.step ?? 0) >= 12) {
      killed = true;
      void processesWith(job.outDir).then((pids) => pids.forEach((p) => process.kill(p, 'SIGKILL')));
    }
  });
  await assert.rejects(first.run(activities.trainLocal, job), /exited with SIGKILL/);
  assert.ok(killed);
  const checkpoints = (await fs.readdir(job.outDir)).filter((f) => f.startsWith('checkpoint-'));
  assert.ok(checkpoints.length > 0, 'a checkpoint was saved before the kill');

  let resumedAt = -1;
  let firstStep = -1;
  let shown = '';
  const second = watched((d) => {
    if (d.event === 'resumed') resumedAt = d.step ?? -1;
    if (d.event === 'step' && firstStep < 0) {
      firstStep = d.step ?? -1;
      shown = trainingLine(d) ?? ''; // what `fireact status` prints from these heartbeat details
    }
  });
  const result = (await second.run(activities.trainLocal, job)) as Awaited<ReturnType<typeof activities.trainLocal>>;
  assert.ok(resumedAt >= 10, `resumed at step ${resumedAt}`);
  assert.equal(firstStep, resumedAt + 1, 'the step counter continues after the checkpoint');
  assert.match(shown, new RegExp(`^step ${firstStep}/60 \\(\\d+%\\), loss \\d+\\.\\d{4}, [\\d,]+ tokens/s, ETA .*, resumed from checkpoint ${resumedAt}$`));
  assert.equal(result.steps, 60);
  assert.equal(result.tinyDemoModel, true);
  assert.equal(result.adapterDir, null);

  // A third call finds the finished result and trains nothing.
  const third = watched(() => undefined);
  assert.deepEqual(await third.run(activities.trainLocal, job), result);
}, 300_000);

test('cancelling the activity stops the trainer and leaves no process', async () => {
  const job = input('cancel', 100_000);
  let cancelled = false;
  const env = watched((d) => {
    if (!cancelled && d.event === 'step') {
      cancelled = true;
      env.cancel();
    }
  });
  await assert.rejects(env.run(activities.trainLocal, job));
  assert.ok(cancelled);
  assert.deepEqual(await processesWith(job.outDir), [], 'no trainer process is left');
  // The trainer saved on SIGTERM, so a later run would resume rather than restart.
  assert.ok((await fs.readdir(job.outDir)).some((f) => f.startsWith('checkpoint-')));
}, 300_000);

test('gpus: 2 runs two processes through accelerate launch (gloo on CPU) to one result', async () => {
  const job = input('two', 6, { gpus: 2, saveEvery: 3 });
  const result = (await watched(() => undefined).run(activities.trainLocal, job)) as Awaited<ReturnType<typeof activities.trainLocal>>;
  assert.equal(result.steps, 6);
  const saved = JSON.parse(await fs.readFile(path.join(job.outDir, 'result.json'), 'utf8')) as { world_size: number };
  assert.equal(saved.world_size, 2);
  assert.deepEqual(await processesWith(job.outDir), [], 'no process is left');
}, 300_000);

test("QLoRA on a machine without a GPU: the trainer's refusal fails the activity at once, non-retryably", async () => {
  const job = input('qlora', 6, { mode: 'qlora' });
  const err = await watched(() => undefined)
    .run(activities.trainLocal, job)
    .then(
      () => assert.fail('expected a refusal'),
      (e: unknown) => e,
    );
  assert.ok(err instanceof ApplicationFailure, String(err));
  assert.equal(err.type, ErrorType.TrainerBadInput);
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, /^train qlora on d: --qlora needs a CUDA GPU \(bitsandbytes 4-bit\); this machine has none/);
}, 300_000);
