// Serving a local model behind an OpenAI-compatible endpoint for the length of an evaluation:
// vLLM when the trainer's environment has it, else our `trainer serve` (Transformers + the adapter).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startTrainer, trainerEnv, type TrainerRun } from '../finetune/local/trainer-process';

export interface ServedModel {
  baseUrl: string;
  /** The model name to send in requests. */
  model: string;
  stop(): Promise<void>;
}

const exec = promisify(execFile);

async function hasVllm(python: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  try {
    await exec(python, ['-c', 'import vllm'], { env: trainerEnv(env), timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

async function waitForHealth(url: string, run: TrainerRun, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // not up yet
    }
    const exited = await Promise.race([run.done.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 500))]);
    if (exited) throw new Error(`model server exited before it was healthy: ${(await run.done).stderrTail.split('\n').slice(-5).join('\n')}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`model server not healthy after ${timeoutMs / 1000} s`);
  }
}

export async function serveLocalModel(
  python: string,
  spec: { modelDir: string; adapterDir: string | null; maxNewTokens: number },
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 300_000,
): Promise<ServedModel> {
  if (await hasVllm(python, env)) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const args = ['--model', spec.modelDir, '--port', String(port), '--host', '127.0.0.1', '--served-model-name', 'base'];
    if (spec.adapterDir) args.push('--enable-lora', '--lora-modules', `student=${spec.adapterDir}`);
    const run = startTrainer(python, [], () => undefined, env, [python, '-m', 'vllm.entrypoints.openai.api_server', ...args]);
    await waitForHealth(`http://127.0.0.1:${port}/health`, run, timeoutMs);
    return { baseUrl: `http://127.0.0.1:${port}/v1`, model: spec.adapterDir ? 'student' : 'base', stop: () => run.stop(10_000) };
  }
  let port: number | undefined;
  let listening!: () => void;
  const ready = new Promise<void>((r) => (listening = r));
  const args = ['serve', '--model', spec.modelDir, '--port', '0', '--host', '127.0.0.1', '--max-new-tokens', String(spec.maxNewTokens)];
  if (spec.adapterDir) args.push('--adapter', spec.adapterDir);
  const run = startTrainer(
    python,
    args,
    (e) => {
      if (e.event === 'listening') {
        port = Number(e.port);
        listening();
      }
    },
    env,
  );
  const exited = run.done.then((r) => {
    throw new Error(`trainer serve exited before listening: ${r.stderrTail.split('\n').slice(-5).join('\n')}`);
  });
  const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('trainer serve did not start in time')), timeoutMs).unref());
  try {
    await Promise.race([ready, exited, timer]);
  } catch (err) {
    await run.stop(2_000);
    throw err;
  }
  exited.catch(() => undefined);
  await waitForHealth(`http://127.0.0.1:${port}/health`, run, timeoutMs);
  return { baseUrl: `http://127.0.0.1:${port}/v1`, model: 'student', stop: () => run.stop(5_000) };
}
