// Runs the Python trainer (`python -m fireact_trainer ...`) in its own process group, reads its JSON
// event lines, and on abort stops the whole group: SIGTERM (the trainer saves and exits), then SIGKILL.
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

export interface TrainerEvent {
  event: string;
  [key: string]: unknown;
}

export interface TrainerRun {
  pid: number;
  /** Resolves with the exit code (null when killed by a signal) and the last lines of stderr. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderrTail: string }>;
  stop(graceMs?: number): Promise<void>;
}

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const exec = promisify(execFile);

/** The trainer venv's python: created by scripts/setup-trainer.sh (idempotent, cached outside the clone). */
export function createTrainerPythonResolver(env: NodeJS.ProcessEnv = process.env): () => Promise<string> {
  let python: Promise<string> | undefined;
  return () => {
    if (env.FIREACT_TRAINER_PYTHON) return Promise.resolve(env.FIREACT_TRAINER_PYTHON);
    python ??= exec('bash', [path.join(REPO_ROOT, 'scripts', 'setup-trainer.sh')], { env, maxBuffer: 16 * 1024 * 1024 }).then(
      ({ stdout }) => stdout.trim().split('\n').pop()!.trim(),
    );
    python.catch(() => (python = undefined));
    return python;
  };
}

export function trainerEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, PYTHONPATH: path.join(REPO_ROOT, 'trainer'), HF_HUB_OFFLINE: env.HF_HUB_OFFLINE ?? '1', PYTHONUNBUFFERED: '1' };
}

export function startTrainer(python: string, args: string[], onEvent: (e: TrainerEvent) => void, env: NodeJS.ProcessEnv = process.env): TrainerRun {
  return startProcess(python, ['-m', 'fireact_trainer', ...args], onEvent, env);
}

/** Runs `command args` with the trainer's environment (the trainer, `accelerate launch`, vLLM), reading JSON event lines. */
export function startProcess(command: string, args: string[], onEvent: (e: TrainerEvent) => void, env: NodeJS.ProcessEnv = process.env): TrainerRun {
  // detached: the process leads its own process group, so a stop reaches a launcher's workers too.
  const child = spawn(command, args, { env: trainerEnv(env), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    try {
      onEvent(JSON.parse(line) as TrainerEvent);
    } catch {
      // not an event line
    }
  });
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderr.push(line);
    if (stderr.length > 40) stderr.shift();
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderrTail: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderrTail: stderr.join('\n') }));
  });
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  return {
    pid: child.pid!,
    done,
    async stop(graceMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      killGroup('SIGTERM');
      const timer = setTimeout(() => killGroup('SIGKILL'), graceMs);
      await done.catch(() => undefined);
      clearTimeout(timer);
      killGroup('SIGKILL'); // anything the group left behind
    },
  };
}
