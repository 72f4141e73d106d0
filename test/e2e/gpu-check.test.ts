// `bash trainer/gpu-check.sh --cpu-smoke`: every piece of the GPU check that runs without a GPU (a
// model built from a config, LoRA and full fine-tuning, plain TRL defaults, a SIGKILL and a resume
// with the same loss curve, serving and asking with requests in flight), on a tiny model.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, test } from '@jest/globals';
import { REPO_ROOT, tempDir } from '../../scripts/support/paths';

let work = '';
afterAll(async () => {
  if (work) await fs.rm(work, { recursive: true, force: true });
});

test('gpu-check --cpu-smoke runs every piece on CPU and reports each', async () => {
  work = await tempDir('gpu-check');
  const child = spawn('bash', [path.join(REPO_ROOT, 'trainer', 'gpu-check.sh'), '--cpu-smoke', '--work', work], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, `${stdout}\n${stderr}`);
  assert.match(stdout, /\[gpu-check\] model: [\d,]+ parameters \(0\.00B\) from a Llama config \(2 layers, width 64\)/);
  assert.match(stdout, /\[gpu-check\] ours-lora: [\d,]+ tokens\/s, MFU n\/a/);
  assert.match(stdout, /\[gpu-check\] ours-full: [\d,]+ tokens\/s, MFU n\/a/);
  assert.match(stdout, /\[gpu-check\] trl-defaults: [\d,]+ tokens\/s; ours \(full\) \/ TRL defaults = \d+\.\d\dx/);
  assert.match(stdout, /SIGKILL after the first checkpoint, resumed at step 2, finished: True; largest loss difference from the undisturbed run: 0\.00e\+00/);
  assert.match(stdout, /served by trainer serve \(up in [\d.]+ s\): 4 requests in flight/);
  const report = JSON.parse(await fs.readFile(path.join(work, 'gpu-check.json'), 'utf8')) as {
    mode: string;
    runs: Record<string, { tokens_per_second: number; steps?: number }>;
    kill_resume: { ok: boolean; resumed_at: number };
    serve: { requests: number };
  };
  assert.equal(report.mode, 'cpu-smoke');
  assert.deepEqual(Object.keys(report.runs).sort(), ['ours-full', 'ours-lora', 'trl-defaults']);
  for (const r of Object.values(report.runs)) assert.ok(r.tokens_per_second > 0);
  assert.equal(report.runs['ours-full'].steps, 4);
  assert.deepEqual([report.kill_resume.ok, report.kill_resume.resumed_at], [true, 2]);
  assert.equal(report.serve.requests, 4);
}, 1_200_000);
