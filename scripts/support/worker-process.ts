// Starts the real worker entry point as a separate process (as `npm run worker` does), for tests
// that kill it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { WORKER_NODE_FLAGS } from '../../workers/heap';
import { REPO_ROOT } from './paths';

export interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
}

export function startWorkerProcess(address: string, logFile: string, env: NodeJS.ProcessEnv = {}): WorkerProcess {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, [...WORKER_NODE_FLAGS, '--import', 'tsx', path.join(REPO_ROOT, 'workers', 'main.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, TEMPORAL_ADDRESS: address, FIREACT_LOG_LEVEL: 'WARN', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited };
}

export async function stopWorkerProcess(w: WorkerProcess | undefined): Promise<void> {
  if (!w || w.child.exitCode !== null || w.child.signalCode !== null) return;
  w.child.kill('SIGTERM');
  const timer = setTimeout(() => w.child.kill('SIGKILL'), 10_000);
  await w.exited;
  clearTimeout(timer);
}
