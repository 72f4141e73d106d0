// What the local trainer can run, and the command that runs it. The trainer itself refuses what the
// machine it lands on cannot do (QLoRA without a GPU or bitsandbytes, ZeRO-3 without DeepSpeed) with
// exit code 2, which the activity makes non-retryable; here only what no machine runs is refused,
// before a process starts.
import path from 'node:path';
import type { StudentConfig } from '../../../core/config';

/** Why the trainer cannot run this student as configured on any machine, or undefined when it can. */
export function trainerCannotRun(st: StudentConfig): string | undefined {
  if (st.mode !== 'qlora' || st.sharding === 'ddp') return undefined;
  return (
    `student "${st.name}": the local trainer cannot run mode "qlora" with sharding "${st.sharding}"; QLoRA runs with sharding "ddp" ` +
    `(its 4-bit base is small enough to replicate). Change the student to mode "lora" or sharding "ddp"`
  );
}

export interface TrainCommand {
  /** The program to run: the venv's python, or its `accelerate` for several processes. */
  command: string;
  args: string[];
}

/**
 * `python -m fireact_trainer train ...` for one process; `accelerate launch --num_processes N -m
 * fireact_trainer train ...` for several (one per GPU, or CPU processes over gloo when there is no GPU).
 * `extraLaunchArgs` (FIREACT_ACCELERATE_ARGS on the worker) adds launcher flags such as a multi-node
 * `--config_file`.
 */
export function trainCommand(
  st: StudentConfig,
  p: { python: string; baseModel: string; datasetPath: string; outDir: string; extraLaunchArgs?: string[] },
): TrainCommand {
  const args = ['train', '--model', p.baseModel, '--data', p.datasetPath, '--out', p.outDir];
  if (st.mode === 'full') args.push('--full');
  else args.push('--lora', `${st.lora.r},${st.lora.alpha},${st.lora.dropout}`);
  if (st.mode === 'qlora') args.push('--qlora');
  args.push('--sharding', st.sharding);
  args.push('--epochs', String(st.epochs), '--lr', String(st.learningRate), '--batch-size', String(st.batchSize));
  args.push('--grad-accum', String(st.gradAccum), '--max-len', String(st.maxLen), '--loss-on', st.lossOn);
  args.push('--save-every', String(st.saveEvery), '--bf16', st.bf16);
  if (st.maxSteps) args.push('--max-steps', String(st.maxSteps));
  if (st.packing) args.push('--packing');
  if (st.gradientCheckpointing) args.push('--gradient-checkpointing');
  const extra = p.extraLaunchArgs ?? [];
  if (st.gpus <= 1 && !extra.length) return { command: p.python, args: ['-m', 'fireact_trainer', ...args] };
  const accelerate = path.join(path.dirname(p.python), 'accelerate');
  // Port 0: the rendezvous picks a free port, so two runs on one machine never collide.
  // --multi_gpu is accelerate's torchrun launcher; without a GPU its processes train on CPU over gloo.
  const launch = ['launch', '--multi_gpu', '--num_processes', String(st.gpus), '--num_machines', '1', '--main_process_port', '0', ...extra];
  return { command: accelerate, args: [...launch, '-m', 'fireact_trainer', ...args] };
}
