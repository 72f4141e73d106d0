// Drives the real Python trainer through its command line, as the local fine-tune activity does:
// set-up, a tiny model, training with progress events and checkpoints, a SIGKILL and a resume, a
// SIGTERM stop, serving through the real `openai` client, and the trainer's own pytest suite.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, test } from '@jest/globals';
import OpenAI from 'openai';
import { probeServing, serveLocalModel } from '../../lib/evaluate/serve';
import { REPO_ROOT, tempDir } from '../../scripts/support/paths';

const SETUP_CANNOT_INSTALL = 3; // setup-trainer.sh: no Python/venv, or PyPI unreachable
const EXIT_STOPPED = 75; // the trainer stopped on request after saving a checkpoint

interface TrainerEvent {
  event: string;
  [key: string]: unknown;
}

/** A trainer process in its own process group, its stdout events collected as they arrive. */
class TrainerProc {
  readonly events: TrainerEvent[] = [];
  /** stdout lines that are not JSON events (the trainer must print none). */
  readonly strayLines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private readonly stderr: string[] = [];
  private readonly waiters: Array<() => void> = [];

  constructor(python: string, args: string[], cwd: string) {
    this.child = spawn(python, args, { cwd, env: trainerEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as TrainerEvent);
      } catch {
        this.strayLines.push(line);
      }
      this.waiters.forEach((w) => w());
    });
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      this.stderr.push(line);
      if (this.stderr.length > 60) this.stderr.shift();
    });
    this.exited = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('close', (code, signal) => {
        resolve({ code, signal });
        this.waiters.forEach((w) => w());
      });
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  stderrTail(): string {
    return [...this.strayLines.slice(-25), ...this.stderr.slice(-25)].join('\n');
  }

  /** The first event matching `pred` (already seen or still to come); fails if the process exits first. */
  waitFor(pred: (e: TrainerEvent) => boolean, timeoutMs = 60_000): Promise<TrainerEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`timed out waiting for an event; stderr:\n${this.stderrTail()}`)), timeoutMs);
      const check = () => {
        const hit = this.events.find(pred);
        if (hit) finish(undefined, hit);
        else if (!this.running) finish(new Error(`trainer exited (${this.child.exitCode ?? this.child.signalCode}) first; events ${JSON.stringify(this.events)}; stderr:\n${this.stderrTail()}`));
      };
      const finish = (err?: Error, hit?: TrainerEvent) => {
        clearTimeout(timer);
        const i = this.waiters.indexOf(check);
        if (i >= 0) this.waiters.splice(i, 1);
        if (err) reject(err);
        else resolve(hit!);
      };
      this.waiters.push(check);
      check();
    });
  }

  signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.child.pid!, signal);
    } catch {
      // already gone
    }
  }
}

function trainerEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PYTHONPATH: path.join(REPO_ROOT, 'trainer'), HF_HUB_OFFLINE: '1', PYTHONUNBUFFERED: '1', TOKENIZERS_PARALLELISM: 'false' };
}

function runSetup(): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', [path.join(REPO_ROOT, 'scripts', 'setup-trainer.sh')], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Forty short trajectories in FireAct's shape: question, Thought/Action, Observation, ..., reward. */
function fireactChatLines(): string {
  const facts = [
    ['France', 'Paris'], ['Peru', 'Lima'], ['Japan', 'Tokyo'], ['Egypt', 'Cairo'], ['Norway', 'Oslo'],
    ['Spain', 'Madrid'], ['Kenya', 'Nairobi'], ['Chile', 'Santiago'], ['Canada', 'Ottawa'], ['Ghana', 'Accra'],
  ];
  const lines: string[] = [];
  for (let i = 0; i < 40; i++) {
    const [country, city] = facts[i % facts.length];
    const messages = [
      { role: 'user', content: `What is the capital of ${country}?` },
      { role: 'assistant', content: `Thought: I need to find the capital of ${country}.\nAction: search[capital of ${country}]` },
      { role: 'user', content: `Observation: The capital of ${country} is ${city}.` },
      { role: 'assistant', content: `Thought: The capital of ${country} is ${city}.\nAction: finish[${city}]` },
      { role: 'user', content: 'Observation: Episode finished, reward = 1' },
    ];
    lines.push(JSON.stringify({ messages }));
  }
  return lines.join('\n') + '\n';
}

async function completeCheckpoints(out: string): Promise<number[]> {
  const steps: number[] = [];
  for (const name of await fs.readdir(out)) {
    const m = /^checkpoint-(\d+)$/.exec(name);
    if (m && (await fs.stat(path.join(out, name, 'COMPLETE')).catch(() => null))) steps.push(Number(m[1]));
  }
  return steps.sort((a, b) => a - b);
}

function stepEvents(p: TrainerProc): number[] {
  return p.events.filter((e) => e.event === 'step').map((e) => e.step as number);
}

describe('python trainer', () => {
  let python = '';
  let skipReason: string | undefined;
  let dir = '';
  let baseModel = '';
  let data = '';
  const procs: TrainerProc[] = [];

  const start = (...args: string[]) => {
    const p = new TrainerProc(python, ['-m', 'fireact_trainer', ...args], dir);
    procs.push(p);
    return p;
  };
  // jest cannot skip a running test: without a trainer each test says why and ends early.
  const skipIfNoTrainer = () => {
    if (skipReason) console.warn(`skipped: ${skipReason}`);
    return skipReason !== undefined;
  };

  beforeAll(async () => {
    // First run on a machine installs torch & co. into a cached venv (a minute or two); later runs take < 1 s.
    const setup = await runSetup();
    if (setup.code === SETUP_CANNOT_INSTALL) {
      skipReason = `the trainer's venv cannot be created here: ${setup.stderr.trim().split('\n').pop()}`;
      return;
    }
    assert.equal(setup.code, 0, `setup-trainer.sh failed:\n${setup.stderr}`);
    python = setup.stdout.trim().split('\n').pop()!;
    dir = await tempDir('trainer');
    data = path.join(dir, 'train.jsonl');
    await fs.writeFile(data, fireactChatLines());
    baseModel = path.join(dir, 'base');
    const init = start('init-model', '--out', baseModel, '--arch', 'llama', '--hidden', '64', '--layers', '2', '--heads', '4', '--vocab', 'byte', '--seed', '1');
    const { code } = await init.exited;
    assert.equal(code, 0, init.stderrTail());
    assert.deepEqual(init.events, [{ event: 'done', path: baseModel }]);
    const config = JSON.parse(await fs.readFile(path.join(baseModel, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(config.model_type, 'llama');
    assert.equal(config.hidden_size, 64);
    for (const f of ['model.safetensors', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json']) {
      await fs.access(path.join(baseModel, f));
    }
  }, 20 * 60_000);

  afterAll(async () => {
    for (const p of procs) if (p.running) p.signalGroup('SIGKILL');
    await Promise.all(procs.map((p) => p.exited.catch(() => undefined)));
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  test('setup-trainer.sh is idempotent and returns at once once installed', async () => {
    if (skipIfNoTrainer()) return;
    // "At once" is the stamp path: nothing logged, nothing installed, the stamp left as it was.
    const stamp = path.join(path.dirname(path.dirname(python)), '.fireact-trainer-complete');
    const before = await fs.stat(stamp);
    const again = await runSetup();
    assert.equal(again.code, 0);
    assert.equal(again.stdout.trim().split('\n').pop(), python);
    assert.equal(again.stderr, '', 'an installed venv is reused without a word');
    assert.equal((await fs.stat(stamp)).mtimeMs, before.mtimeMs, 'the stamp was not rewritten');
    assert.ok(!python.startsWith(REPO_ROOT + path.sep), 'the venv lives outside the clone');
  }, 30_000);

  test('trains LoRA to done with progress events, checkpoints and a result', async () => {
    if (skipIfNoTrainer()) return;
    const out = path.join(dir, 'run-done');
    const p = start('train', '--model', baseModel, '--data', data, '--out', out, '--max-steps', '6', '--batch-size', '8', '--save-every', '2', '--keep', '2', '--lr', '3e-3');
    const { code } = await p.exited;
    assert.equal(code, 0, p.stderrTail());
    assert.deepEqual(p.strayLines, [], 'stdout holds event lines only');
    const kinds = p.events.map((e) => e.event);
    assert.equal(kinds[0], 'start');
    assert.equal(kinds.at(-1), 'done');
    assert.deepEqual(stepEvents(p), [1, 2, 3, 4, 5, 6]);
    for (const e of p.events.filter((x) => x.event === 'step')) {
      assert.equal(e.total_steps, 6);
      for (const k of ['loss', 'lr', 'tokens', 'tokens_per_second', 'elapsed']) assert.equal(typeof e[k], 'number', `${k} in ${JSON.stringify(e)}`);
      assert.ok(Number.isFinite(e.loss) && (e.loss as number) > 0);
    }
    const tokens = p.events.filter((e) => e.event === 'step').map((e) => e.tokens as number);
    assert.ok(tokens.every((n, i) => i === 0 || n > tokens[i - 1]), 'tokens count up');
    assert.deepEqual(p.events.filter((e) => e.event === 'checkpoint').map((e) => [e.step, e.path]), [[2, path.join(out, 'checkpoint-2')], [4, path.join(out, 'checkpoint-4')]]);
    const done = p.events.at(-1)!;
    assert.equal(done.step, 6);
    assert.equal(done.path, path.join(out, 'final'));
    assert.equal(typeof done.train_loss, 'number');

    assert.deepEqual(await completeCheckpoints(out), [2, 4]);
    for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'optimizer.pt', 'scheduler.pt', 'rng_state.pth', 'trainer_state.json', 'fireact_run.json']) {
      await fs.access(path.join(out, 'checkpoint-4', f));
    }
    for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'tokenizer.json']) await fs.access(path.join(out, 'final', f));
    const result = JSON.parse(await fs.readFile(path.join(out, 'result.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(result.step, 6);
    assert.equal(result.final_path, path.join(out, 'final'));
    assert.equal(result.method, 'lora');
  }, 120_000);

  test('a SIGKILLed run resumes from its newest checkpoint; SIGTERM stops cleanly with a checkpoint', async () => {
    if (skipIfNoTrainer()) return;
    const out = path.join(dir, 'run-killed');
    const args = ['train', '--model', baseModel, '--data', data, '--out', out, '--max-steps', '500', '--batch-size', '2', '--save-every', '3', '--keep', '3'];

    const first = start(...args);
    await first.waitFor((e) => e.event === 'checkpoint');
    first.signalGroup('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');
    const saved = await completeCheckpoints(out);
    assert.ok(saved.length > 0 && saved.every((s) => s % 3 === 0), `checkpoints ${saved.join(',')}`);
    const newest = saved.at(-1)!;

    const second = start(...args);
    const resumed = await second.waitFor((e) => e.event === 'resumed');
    assert.equal(resumed.step, newest);
    const firstStep = await second.waitFor((e) => e.event === 'step');
    assert.equal(firstStep.step, newest + 1, 'the step count continues from the checkpoint');
    assert.equal(firstStep.total_steps, 500);

    second.signalGroup('SIGTERM');
    const { code } = await second.exited;
    assert.equal(code, EXIT_STOPPED, second.stderrTail());
    const stopped = second.events.at(-1)!;
    assert.equal(stopped.event, 'stopped');
    const stopStep = stopped.step as number;
    assert.ok(stopStep > newest);
    assert.equal(stopStep, stepEvents(second).at(-1), 'stops after the step in progress');
    assert.equal(stopped.path, path.join(out, `checkpoint-${stopStep}`));
    assert.ok((await completeCheckpoints(out)).includes(stopStep));
    assert.ok(!second.events.some((e) => e.event === 'done'));
    await assert.rejects(fs.access(path.join(out, 'result.json')));

    const third = start(...args);
    assert.equal((await third.waitFor((e) => e.event === 'resumed')).step, stopStep);
    third.signalGroup('SIGTERM');
    assert.equal((await third.exited).code, EXIT_STOPPED);
  }, 180_000);

  test('serves the trained adapter to the openai client', async () => {
    if (skipIfNoTrainer()) return;
    const final = path.join(dir, 'run-done', 'final');
    await fs.access(final); // from the training test above
    const server = start('serve', '--model', final, '--port', '0', '--host', '127.0.0.1');
    const listening = await server.waitFor((e) => e.event === 'listening');
    const baseURL = `http://127.0.0.1:${listening.port as number}/v1`;

    const health = await fetch(`http://127.0.0.1:${listening.port as number}/health`);
    assert.equal(health.status, 200);

    const client = new OpenAI({ baseURL, apiKey: 'local', maxRetries: 0, timeout: 60_000 });
    const models = await client.models.list();
    const id = models.data[0].id;
    assert.equal(id, listening.model);

    const question = 'What is the capital of Peru?';
    const ask = (extra: Partial<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming> = {}) =>
      // The trainer's server reads max_tokens, as the evaluation's requests send it.
      // eslint-disable-next-line @typescript-eslint/no-deprecated
      client.chat.completions.create({ model: id, messages: [{ role: 'user', content: question }], max_tokens: 24, temperature: 0, ...extra });
    const r = await ask();
    assert.equal(r.object, 'chat.completion');
    assert.match(r.id, /^chatcmpl-/);
    assert.equal(r.model, id);
    assert.equal(r.choices.length, 1);
    const text = r.choices[0].message.content ?? '';
    assert.equal(r.choices[0].message.role, 'assistant');
    assert.equal(typeof text, 'string');
    assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason), r.choices[0].finish_reason);
    // Byte tokenizer: the prompt is the question's bytes plus <|user|>, <|end|>, <|assistant|> and three newlines.
    assert.equal(r.usage?.prompt_tokens, Buffer.byteLength(question) + 6);
    assert.ok(r.usage!.completion_tokens >= 1 && r.usage!.completion_tokens <= 24);
    assert.equal(r.usage?.total_tokens, r.usage!.prompt_tokens + r.usage!.completion_tokens);

    // temperature 0 is greedy: the same answer again; a stop sequence cuts the text before it.
    assert.equal((await ask()).choices[0].message.content, text);
    assert.ok(text.length >= 4, `need a few characters to pick a stop sequence from: ${JSON.stringify(text)}`);
    const stop = text.slice(2, 4);
    const stopped = await ask({ stop: [stop] });
    assert.equal(stopped.choices[0].message.content, text.slice(0, text.indexOf(stop)));
    assert.equal(stopped.choices[0].finish_reason, 'stop');

    await assert.rejects(ask({ messages: [] }), (err: unknown) => err instanceof OpenAI.BadRequestError && err.status === 400);

    server.signalGroup('SIGTERM');
    assert.equal((await server.exited).code, 0);
  }, 120_000);

  test('evaluation serving on this machine (no GPU, no vLLM) picks trainer serve for the adapter', async () => {
    if (skipIfNoTrainer()) return;
    assert.deepEqual(await probeServing(python, process.env), { vllm: false, cuda: false });
    const adapterDir = path.join(dir, 'run-done', 'final');
    const env = { ...process.env, FIREACT_SERVER: undefined };
    const served = await serveLocalModel(python, { modelDir: baseModel, adapterDir, maxNewTokens: 16 }, env, { maxConcurrency: 4 });
    try {
      assert.equal(served.server, 'trainer');
      assert.equal(served.model, 'student');
      const client = new OpenAI({ baseURL: served.baseUrl, apiKey: 'local', maxRetries: 0, timeout: 60_000 });
      const answers = await Promise.all(
        // The trainer's server reads max_tokens, as the evaluation's requests send it.
        // eslint-disable-next-line @typescript-eslint/no-deprecated
        [1, 2, 3, 4].map(() => client.chat.completions.create({ model: served.model, messages: [{ role: 'user', content: 'Capital of Peru?' }], max_tokens: 8, temperature: 0 })),
      );
      assert.equal(new Set(answers.map((a) => a.choices[0].message.content)).size, 1, 'greedy: the same answer to each');
    } finally {
      await served.stop();
    }
    await assert.rejects(serveLocalModel(python, { modelDir: baseModel, adapterDir, maxNewTokens: 16 }, { ...process.env, FIREACT_SERVER: 'vllm' }), /FIREACT_SERVER=vllm, but vLLM is not installed/);
  }, 180_000);

  // Includes two-process runs through accelerate launch (gloo), so it takes minutes on a small machine.
  test("the trainer's own pytest suite passes", async () => {
    if (skipIfNoTrainer()) return;
    const p = new TrainerProc(python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', '--basetemp', path.join(dir, 'pytest'), 'tests'], path.join(REPO_ROOT, 'trainer'));
    procs.push(p);
    const { code } = await p.exited;
    assert.equal(code, 0, p.stderrTail());
    assert.match(p.strayLines.join('\n'), /\d+ passed/);
    assert.doesNotMatch(p.strayLines.join('\n'), /failed|error/i);
  }, 900_000);
});
