// Serving a local model behind an OpenAI-compatible endpoint for the length of an evaluation: vLLM
// when the trainer's environment has it and a GPU (LoRA adapters served without merging, continuous
// batching for many episodes in flight), else our `trainer serve` (Transformers + the adapter, on CPU).
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { startProcess, startTrainer, trainerEnv, type TrainerRun } from '../finetune/local/trainer-process';
import { abortableSleep } from '../models/limiter';

/** Completion cap of a local model served for evaluation: the server's max new tokens and the requests' max_tokens. */
export const LOCAL_EVAL_MAX_TOKENS = 256;

export interface ServedModel {
  baseUrl: string;
  /** The model name to send in requests. */
  model: string;
  /** Which server answers: vLLM or the trainer's own. */
  server: ServerKind;
  stop(): Promise<void>;
}

export type ServerKind = 'vllm' | 'trainer';
export interface ServeSpec {
  modelDir: string;
  adapterDir: string | null;
  maxNewTokens: number;
}

const exec = promisify(execFile);

/** What the trainer's environment offers: vLLM installed, a CUDA device. */
export async function probeServing(python: string, env: NodeJS.ProcessEnv): Promise<{ vllm: boolean; cuda: boolean }> {
  const code = 'import importlib.util, json, torch; print(json.dumps({"vllm": importlib.util.find_spec("vllm") is not None, "cuda": torch.cuda.is_available()}))';
  try {
    const { stdout } = await exec(python, ['-c', code], { env: trainerEnv(env), timeout: 120_000 });
    return JSON.parse(stdout.trim().split('\n').pop()!) as { vllm: boolean; cuda: boolean };
  } catch {
    return { vllm: false, cuda: false };
  }
}

/**
 * vLLM when it is installed and there is a GPU; `FIREACT_SERVER=vllm|trainer` on the worker forces one
 * (vllm without the package is refused rather than quietly served another way).
 */
export function chooseServer(probe: { vllm: boolean; cuda: boolean }, forced?: string): ServerKind {
  if (forced === 'trainer') return 'trainer';
  if (forced === 'vllm') {
    if (!probe.vllm) throw new Error("FIREACT_SERVER=vllm, but vLLM is not installed in the trainer's environment (pip install -r trainer/requirements-gpu.txt)");
    return 'vllm';
  }
  if (forced) throw new Error(`FIREACT_SERVER must be "vllm" or "trainer", not "${forced}"`);
  return probe.vllm && probe.cuda ? 'vllm' : 'trainer';
}

/** vLLM's LoRA slots come in fixed ranks; the smallest one that holds the adapter's r. */
export function vllmLoraRank(r: number): number {
  for (const rank of [8, 16, 32, 64, 128, 256, 320, 512]) if (r <= rank) return rank;
  throw new Error(`LoRA rank ${r} is larger than vLLM serves (512)`);
}

/** The vLLM OpenAI server command: the base model as "base", the adapter (unmerged) as "student". */
export function vllmCommand(python: string, spec: ServeSpec, port: number, loraRank: number | null, maxConcurrency: number): { command: string; args: string[] } {
  const args = ['-m', 'vllm.entrypoints.openai.api_server', '--model', spec.modelDir, '--served-model-name', 'base'];
  args.push('--host', '127.0.0.1', '--port', String(port), '--max-num-seqs', String(maxConcurrency));
  if (spec.adapterDir) {
    args.push('--enable-lora', '--lora-modules', `student=${spec.adapterDir}`, '--max-loras', '1', '--max-lora-rank', String(loraRank ?? 16));
  }
  return { command: python, args };
}

async function adapterRank(adapterDir: string): Promise<number> {
  const cfg = JSON.parse(await fs.readFile(path.join(adapterDir, 'adapter_config.json'), 'utf8')) as { r?: number };
  return cfg.r ?? 8;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
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
    const exited = await Promise.race([run.done.then(() => true), abortableSleep(500).then(() => false)]);
    if (exited) throw new Error(`model server exited before it was healthy: ${(await run.done).stderrTail.split('\n').slice(-5).join('\n')}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`model server not healthy after ${timeoutMs / 1000} s`);
  }
}

export async function serveLocalModel(
  python: string,
  spec: ServeSpec,
  env: NodeJS.ProcessEnv = process.env,
  opts: { timeoutMs?: number; maxConcurrency?: number } = {},
): Promise<ServedModel> {
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const server = chooseServer(await probeServing(python, env), env.FIREACT_SERVER);
  if (server === 'vllm') {
    const port = await freePort();
    const rank = spec.adapterDir ? vllmLoraRank(await adapterRank(spec.adapterDir)) : null;
    const cmd = vllmCommand(python, spec, port, rank, opts.maxConcurrency ?? 256);
    const run = startProcess(cmd.command, cmd.args, () => undefined, env);
    try {
      await waitForHealth(`http://127.0.0.1:${port}/health`, run, timeoutMs);
    } catch (err) {
      await run.stop(2_000);
      throw err;
    }
    return { baseUrl: `http://127.0.0.1:${port}/v1`, model: spec.adapterDir ? 'student' : 'base', server, stop: () => run.stop(10_000) };
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
  return { baseUrl: `http://127.0.0.1:${port}/v1`, model: 'student', server, stop: () => run.stop(5_000) };
}
