// Backend "local": fine-tunes with the Python trainer on task queue fireact-gpu. The trainer resumes
// from its newest complete checkpoint on its own, so a retried activity continues where the last
// attempt stopped; cancelling the activity stops the trainer's whole process group.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../core/errors';
import { startHeartbeat } from './heartbeat';
import { trainCommand, trainerCannotRun, type TrainCommand } from '../lib/finetune/local/support';
import { startProcess, type TrainerEvent } from '../lib/finetune/local/trainer-process';
import type { LocalTrainInput, LocalTrainResult } from './contracts';

/** The trainer's exit code for bad arguments, data or output folder (trainer/fireact_trainer/cli.py). */
const TRAINER_EXIT_BAD_INPUT = 2;

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

/** A folder path rather than a hub id ("org/name"): absolute, or starting with "." or "~". */
function looksLikePath(model: string): boolean {
  return path.isAbsolute(model) || model.startsWith('.') || model.startsWith('~');
}

export function createLocalFineTuneActivities(deps: { python: () => Promise<string>; env?: NodeJS.ProcessEnv }) {
  const env = deps.env ?? process.env;

  /** Runs one trainer command to completion, heartbeating its events; cancellation stops it. */
  async function runTrainer(command: TrainCommand, what: string): Promise<TrainerEvent[]> {
    const events: TrainerEvent[] = [];
    // Details for the UI and `fireact status`: the latest step (step/total, loss, tokens/s) and the
    // checkpoint this attempt resumed from, which the next step event would otherwise hide.
    let resumedFrom: number | undefined;
    const heartbeat = startHeartbeat({ what });
    const onEvent = (e: TrainerEvent) => {
      events.push(e);
      if (e.event === 'resumed' && typeof e.step === 'number') resumedFrom = e.step;
      if (e.event === 'start' || e.event === 'step' || e.event === 'checkpoint' || e.event === 'resumed') {
        heartbeat.update({ what, ...e, ...(resumedFrom !== undefined ? { resumedFrom } : {}) });
      }
    };
    const run = startProcess(command.command, command.args, onEvent, env);
    const signal = Context.current().cancellationSignal;
    const onCancel = () => void run.stop();
    signal.addEventListener('abort', onCancel);
    try {
      const { code, signal: killedBy, stderrTail } = await run.done;
      if (signal.aborted) throw signal.reason ?? new Error('cancelled');
      // Under `accelerate launch` the launcher exits 1 whatever its workers did, so the error event counts too.
      const badInput = code === TRAINER_EXIT_BAD_INPUT || events.some((e) => e.event === 'error' && e.kind === 'bad_input');
      if (badInput) {
        // The trainer refused its data, arguments, output folder or a strategy this machine cannot run:
        // every retry would meet the same.
        const said = events.filter((e) => e.event === 'error').pop()?.message;
        throw ApplicationFailure.create({
          type: ErrorType.TrainerBadInput,
          nonRetryable: true,
          message: `${what}: ${typeof said === 'string' ? said : stderrTail.split('\n').slice(-4).join('\n')}`,
        });
      }
      if (code !== 0) {
        throw ApplicationFailure.create({
          type: ErrorType.TrainerFailed,
          message: `${what} exited with ${code ?? killedBy}: ${stderrTail.split('\n').slice(-8).join('\n')}`,
        });
      }
      return events;
    } finally {
      signal.removeEventListener('abort', onCancel);
      heartbeat.stop();
      await run.stop(5_000);
    }
  }

  return {
    async trainLocal(input: LocalTrainInput): Promise<LocalTrainResult> {
      const { student } = input;
      const unsupported = trainerCannotRun(student);
      // Before any work: no retry teaches the trainer a new strategy.
      if (unsupported) throw ApplicationFailure.create({ type: ErrorType.InvalidConfig, nonRetryable: true, message: unsupported });
      const tinyDemoModel = student.baseModel === 'init';
      let baseModel = student.baseModel;
      if (!tinyDemoModel && looksLikePath(baseModel) && !(await exists(path.join(baseModel, 'config.json')))) {
        // Found before the trainer starts: a retry cannot make the folder appear.
        throw ApplicationFailure.create({
          type: ErrorType.MissingData,
          nonRetryable: true,
          message: `student "${student.name}": base model ${baseModel} does not exist or has no config.json (give a model folder, a hub id cached on the GPU worker, or "init")`,
        });
      }
      if (tinyDemoModel) {
        baseModel = input.baseDir;
        if (!(await exists(path.join(input.baseDir, 'config.json')))) {
          // Built into a temp folder and renamed, so a half-built model is never used.
          const tmp = `${input.baseDir}.tmp-${process.pid}`;
          await fs.rm(tmp, { recursive: true, force: true });
          const { hidden, layers, heads, seed } = student.init;
          const python = await deps.python();
          await runTrainer(
            { command: python, args: ['-m', 'fireact_trainer', 'init-model', '--out', tmp, '--corpus', input.datasetPath, '--hidden', String(hidden), '--layers', String(layers), '--heads', String(heads), '--seed', String(seed)] },
            `init-model ${student.name}`,
          );
          await fs.rm(input.baseDir, { recursive: true, force: true });
          await fs.rename(tmp, input.baseDir);
        }
      }
      const resultFile = path.join(input.outDir, 'result.json');
      if (!(await exists(resultFile))) {
        const python = await deps.python();
        const extraLaunchArgs = env.FIREACT_ACCELERATE_ARGS?.split(/\s+/).filter(Boolean);
        const command = trainCommand(student, { python, baseModel, datasetPath: input.datasetPath, outDir: input.outDir, extraLaunchArgs });
        await runTrainer(command, `train ${student.name} on ${input.datasetName}`);
      }
      const result = JSON.parse(await fs.readFile(resultFile, 'utf8')) as {
        step: number;
        train_loss?: number;
        tokens_per_second?: number;
        final_path?: string;
      };
      const finalDir = result.final_path ?? path.join(input.outDir, 'final');
      const adapter = student.mode !== 'full';
      log.info('local fine-tune finished', { student: student.name, dataset: input.datasetName, steps: result.step });
      return {
        baseModel,
        adapterDir: adapter ? finalDir : null,
        modelDir: adapter ? baseModel : finalDir,
        steps: result.step,
        trainLoss: result.train_loss ?? null,
        tokensPerSecond: result.tokens_per_second ?? null,
        tinyDemoModel,
      };
    },
  };
}
