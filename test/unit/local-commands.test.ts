// The commands the local backend builds: the trainer (one process, or `accelerate launch` for several)
// and the model server for evaluation (vLLM with the LoRA adapter unmerged, or `trainer serve`).
import assert from 'node:assert/strict';
import { test } from '@jest/globals';
import { StudentSchema } from '../../core/config';
import { chooseServer, vllmCommand, vllmLoraRank } from '../../lib/evaluate/serve';
import { trainCommand, trainerCannotRun } from '../../lib/finetune/local/support';

const student = (over: Record<string, unknown> = {}) => StudentSchema.parse({ name: 's', backend: 'local', baseModel: 'init', datasets: ['d'], ...over });
const paths = { python: '/venv/bin/python', baseModel: '/m/base', datasetPath: '/d/train.jsonl', outDir: '/o/s-d' };

test('one GPU: python -m fireact_trainer train with every student setting', () => {
  const cmd = trainCommand(student({ mode: 'lora', lora: { r: 16, alpha: 32, dropout: 0.1 }, maxSteps: 7, packing: true, gradientCheckpointing: true, bf16: 'on' }), paths);
  assert.equal(cmd.command, '/venv/bin/python');
  assert.deepEqual(cmd.args, [
    '-m', 'fireact_trainer', 'train', '--model', '/m/base', '--data', '/d/train.jsonl', '--out', '/o/s-d',
    '--lora', '16,32,0.1', '--sharding', 'ddp', '--epochs', '1', '--lr', '0.0002', '--batch-size', '4', '--grad-accum', '1',
    '--max-len', '1024', '--loss-on', 'assistant', '--save-every', '50', '--bf16', 'on', '--max-steps', '7', '--packing', '--gradient-checkpointing',
  ]);
  assert.deepEqual(trainCommand(student({ mode: 'qlora' }), paths).args.slice(9, 14), ['--lora', '8,16,0.05', '--qlora', '--sharding', 'ddp']);
});

test('several GPUs: accelerate launch from the same venv, one process per GPU, with the sharding', () => {
  const cmd = trainCommand(student({ mode: 'full', sharding: 'fsdp', gpus: 4 }), paths);
  assert.equal(cmd.command, '/venv/bin/accelerate');
  assert.deepEqual(cmd.args.slice(0, 13), ['launch', '--multi_gpu', '--num_processes', '4', '--num_machines', '1', '--main_process_port', '0', '-m', 'fireact_trainer', 'train', '--model', '/m/base']);
  assert.deepEqual(cmd.args.slice(cmd.args.indexOf('--full'), cmd.args.indexOf('--full') + 3), ['--full', '--sharding', 'fsdp']);
  const multiNode = trainCommand(student({ mode: 'full', sharding: 'zero3', gpus: 8 }), { ...paths, extraLaunchArgs: ['--config_file', '/etc/node0.yaml'] });
  assert.deepEqual(multiNode.args.slice(0, 10), ['launch', '--multi_gpu', '--num_processes', '8', '--num_machines', '1', '--main_process_port', '0', '--config_file', '/etc/node0.yaml']);
});

test('only QLoRA with a sharded strategy is refused before the trainer starts', () => {
  assert.equal(trainerCannotRun(student({ mode: 'full', sharding: 'fsdp', gpus: 4 })), undefined);
  assert.equal(trainerCannotRun(student({ mode: 'full', sharding: 'zero3', gpus: 4 })), undefined);
  assert.equal(trainerCannotRun(student({ mode: 'qlora' })), undefined);
  assert.match(trainerCannotRun(student({ mode: 'qlora', sharding: 'zero3' }))!, /cannot run mode "qlora" with sharding "zero3"/);
});

test('the model server: vLLM only with vLLM and a GPU, unless the worker forces one', () => {
  assert.equal(chooseServer({ vllm: true, cuda: true }), 'vllm');
  assert.equal(chooseServer({ vllm: true, cuda: false }), 'trainer');
  assert.equal(chooseServer({ vllm: false, cuda: true }), 'trainer');
  assert.equal(chooseServer({ vllm: true, cuda: true }, 'trainer'), 'trainer');
  assert.equal(chooseServer({ vllm: true, cuda: false }, 'vllm'), 'vllm');
  assert.throws(() => chooseServer({ vllm: false, cuda: true }, 'vllm'), /FIREACT_SERVER=vllm, but vLLM is not installed in the trainer's environment/);
  assert.throws(() => chooseServer({ vllm: true, cuda: true }, 'sglang'), /FIREACT_SERVER must be "vllm" or "trainer", not "sglang"/);
});

test('vLLM serves the base and the unmerged adapter, with a LoRA slot that holds its rank and as many sequences as episodes in flight', () => {
  const cmd = vllmCommand('/venv/bin/python', { modelDir: '/m/base', adapterDir: '/o/s-d/final', maxNewTokens: 256 }, 41000, vllmLoraRank(12), 64);
  assert.equal(cmd.command, '/venv/bin/python');
  assert.deepEqual(cmd.args, [
    '-m', 'vllm.entrypoints.openai.api_server', '--model', '/m/base', '--served-model-name', 'base', '--host', '127.0.0.1', '--port', '41000',
    '--max-num-seqs', '64', '--enable-lora', '--lora-modules', 'student=/o/s-d/final', '--max-loras', '1', '--max-lora-rank', '16',
  ]);
  const full = vllmCommand('/venv/bin/python', { modelDir: '/o/s-d/final', adapterDir: null, maxNewTokens: 256 }, 41001, null, 8);
  assert.ok(!full.args.includes('--enable-lora'));
  assert.equal(vllmLoraRank(8), 8);
  assert.equal(vllmLoraRank(64), 64);
  assert.throws(() => vllmLoraRank(1024), /larger than vLLM serves/);
});
