// The `fireact` command against a real dev server: start, status, watch, list, cancel, validate,
// the errors a user sees for an unknown experiment or an unreachable server, and the argument parser.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { execFile } from 'node:child_process';
import YAML from 'yaml';
import { fakeTeacher, startFakeOpenAIServer, type FakeOpenAIServer } from '../../scripts/support/fake-openai-server';
import { DATA_DIR, REPO_ROOT, tempDir } from '../../scripts/support/paths';
import { startStack } from '../../scripts/support/temporal';
import { runFireact } from '../support/cli';

let env: TestWorkflowEnvironment;
let stack: Awaited<ReturnType<typeof startStack>>;
let dir: string;
let slow: FakeOpenAIServer;

beforeAll(async () => {
  dir = await tempDir('cli');
  slow = await startFakeOpenAIServer({ behaviour: async (b, n) => ({ content: (await fakeTeacher()(b, n)) as string, delayMs: 1000 }) });
  stack = await startStack();
  env = stack.env;
});

afterAll(async () => {
  await stack?.stop();
  await slow?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const fireact = (args: string[], address = env.address) => runFireact(args, address);

async function writeConfig(name: string, overrides: Record<string, unknown> = {}): Promise<string> {
  const file = path.join(dir, `${name}.yaml`);
  const config = {
    name,
    dataDir: DATA_DIR,
    artifactDir: path.join(dir, 'artifacts'),
    cacheDir: path.join(dir, 'cache'),
    models: { teacher: { provider: 'replay', model: 'gpt-4', replayFiles: ['hotpotqa'] } },
    generate: { teacher: 'teacher', tasks: [{ task: 'hotpotqa', split: 'fireact-react', methods: ['react'], sample: { n: 6 } }], shardSize: 3 },
    datasets: [{ name: 'hotpotqa', tasks: ['hotpotqa'], methods: ['react'] }],
    ...overrides,
  };
  await fs.writeFile(file, YAML.stringify(config));
  return file;
}

test('start, watch, status and list an experiment', async () => {
  const file = await writeConfig('cli-ok');
  const start = await fireact(['start', file, '--id', 'cli-ok-1']);
  assert.equal(start.code, 0, start.err);
  assert.match(start.out, /started experiment cli-ok-1/);
  assert.match(start.out, /UI: {4}http:\/\/localhost:8233\/namespaces\/default\/workflows\/cli-ok-1/);

  const watched = await fireact(['watch', 'cli-ok-1']);
  assert.equal(watched.code, 0, watched.err);
  assert.match(watched.out, /stage: done/);
  assert.match(watched.out, /dataset hotpotqa \(openai, 6 records\): .*train\.openai\.jsonl/);

  const status = await fireact(['status', 'cli-ok-1']);
  assert.match(status.out, /cli-ok-1: COMPLETED/);
  assert.match(status.out, /generate\s+\[#+\] 100%\s+6\/6/);

  const list = await fireact(['list']);
  assert.match(list.out, /cli-ok-1\s+COMPLETED/);

  const report = await fireact(['report', 'cli-ok-1']);
  assert.equal(report.code, 0, report.err);
  const html = /report\.html: +(\S+)/.exec(report.out)![1];
  assert.match(await fs.readFile(html, 'utf8'), /Dataset composition/);
}, 120_000);

test('cancel stops a running experiment', async () => {
  const file = await writeConfig('cli-slow', {
    models: { teacher: { provider: 'openai', model: 'slow', baseUrl: slow.url } },
    generate: { teacher: 'teacher', tasks: [{ task: 'hotpotqa', split: 'test', methods: ['cot'], sample: { n: 50 } }], episodeConcurrency: 1, maxParallelShards: 1 },
    datasets: [{ name: 'hotpotqa', tasks: ['hotpotqa'], methods: ['cot'] }],
  });
  assert.equal((await fireact(['start', file, '--id', 'cli-slow-1'])).code, 0);
  const cancel = await fireact(['cancel', 'cli-slow-1']);
  assert.match(cancel.out, /cancellation requested for cli-slow-1/);
  const handle = env.client.workflow.getHandle('cli-slow-1');
  await assert.rejects(handle.result());
  assert.equal((await handle.describe()).status.name, 'CANCELLED');
  // The shard stops too: it does not go on through its remaining episodes.
  const shard = env.client.workflow.getHandle('cli-slow-1/generate/hotpotqa-test-cot-0');
  await assert.rejects(shard.result());
  assert.equal((await shard.describe()).status.name, 'CANCELLED');
  const sent = slow.completionRequests;
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(slow.completionRequests, sent, 'no model call after the cancellation');
  assert.ok(sent < 5, `${sent} model calls for 50 planned episodes`);
}, 120_000);

test('bad input: invalid config, unknown experiment, unreachable server', async () => {
  const bad = await writeConfig('cli-bad', { generate: { teacher: 'teacher', tasks: [{ task: 'hotpotqa', split: 'dev', methods: ['reactt'] }] } });
  const v = await fireact(['start', bad]);
  assert.equal(v.code, 1);
  assert.match(v.err, /generate\.tasks\.0\.methods\.0: "reactt" is not allowed; use one of "io", "cot", "react", "reflexion"/);

  const unknown = await fireact(['status', 'no-such-experiment']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /no such experiment: no-such-experiment/);

  const down = await fireact(['list'], '127.0.0.1:1');
  assert.equal(down.code, 1);
  assert.match(down.err, /cannot reach Temporal at 127\.0\.0\.1:1/);

  const usage = await fireact(['frobnicate']);
  assert.equal(usage.code, 2);
  assert.match(usage.err, /unknown command "frobnicate"/);
});

const COMMANDS = ['start', 'watch', 'status', 'list', 'cancel', 'budget', 'report', 'validate', 'plan', 'resume', 'score'];

test('every command has --help listing its flags (exit 0), and refuses unknown flags and extra arguments (exit 2)', async () => {
  const top = await fireact(['--help']);
  assert.equal(top.code, 0);
  for (const c of COMMANDS) assert.match(top.out, new RegExp(`^  ${c}\\b`, 'm'), `${c} in the overview`);
  const flags: Record<string, string[]> = {
    start: ['--id ID', '--watch', '--force'],
    budget: ['--add USD', '--tokens N', '--model NAME'],
    plan: ['--json'],
    resume: ['--reset', '--new', '--config FILE'],
    score: ['--task TASK', '--predictions FILE', '--split SPLIT', '--data-dir DIR'],
  };
  // No server is reachable: --help never connects.
  const helps = await Promise.all(COMMANDS.map((c) => fireact([c, '--help'], '127.0.0.1:1')));
  for (const [i, c] of COMMANDS.entries()) {
    const h = helps[i];
    assert.equal(h.code, 0, `${c} --help: ${h.err}`);
    assert.match(h.out, new RegExp(`^usage: fireact ${c}\\b`));
    assert.match(h.out, /-h, --help/);
    for (const f of flags[c] ?? []) assert.ok(h.out.includes(f), `${c} --help lists ${f}`);
  }
  assert.equal((await fireact(['score', '-h'])).code, 0);

  const unknown = await fireact(['status', 'x', '--verbose']);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.err, 'fireact status: unknown option --verbose\nusage: fireact status <id>\nrun "fireact status --help" for details\n');
  const extra = await fireact(['validate', 'a.yaml', 'b.yaml']);
  assert.equal(extra.code, 2);
  assert.match(extra.err, /^fireact validate: unexpected argument "b\.yaml"\nusage: fireact validate <config>/);
  const missing = await fireact(['watch']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /^fireact watch: needs <id>\n/);
  const noValue = await fireact(['start', 'x.yaml', '--id']);
  assert.equal(noValue.code, 2);
  assert.match(noValue.err, /^fireact start: --id needs a value \(ID\)\n/);
  const flagAsValue = await fireact(['start', 'x.yaml', '--id', '--watch']);
  assert.equal(flagAsValue.code, 2);
  assert.match(flagAsValue.err, /--id needs a value/);
});

test('cancel and budget of an experiment that has ended say so and exit 1; list into a closed pipe does not crash', async () => {
  const file = await writeConfig('cli-ended');
  assert.equal((await fireact(['start', file, '--id', 'cli-ended-1', '--watch'])).code, 0);
  const cancel = await fireact(['cancel', 'cli-ended-1']);
  assert.equal(cancel.code, 1);
  assert.equal(cancel.err, 'fireact: experiment cli-ended-1 is COMPLETED; there is nothing to cancel\n');
  const budget = await fireact(['budget', 'cli-ended-1', '--add', '5']);
  assert.equal(budget.code, 1);
  assert.equal(budget.err, 'fireact: experiment cli-ended-1 is COMPLETED; its budget can no longer be raised\n');

  // `true` exits without reading, so every line `list` writes meets a closed pipe (EPIPE).
  const piped = await new Promise<{ status: string; err: string }>((resolve, reject) => {
    execFile(
      'bash',
      ['-c', `"${process.execPath}" "${path.join(REPO_ROOT, 'bin', 'fireact.js')}" list | true; echo "\${PIPESTATUS[0]}"`],
      { env: { ...process.env, TEMPORAL_ADDRESS: env.address } },
      (err, stdout, stderr) => (err ? reject(err) : resolve({ status: stdout.trim(), err: stderr })),
    );
  });
  assert.deepEqual(piped, { status: '0', err: '' });
}, 120_000);

test('configs: a JSON file with a byte-order mark, a workflow input file, relative paths from any directory', async () => {
  const plain = YAML.parse(await fs.readFile(await writeConfig('cli-bom'), 'utf8')) as Record<string, unknown>;
  const bom = path.join(dir, 'bom.json');
  await fs.writeFile(bom, '\ufeff' + JSON.stringify(plain));
  const v = await fireact(['validate', bom]);
  assert.equal(v.code, 0, v.err);
  assert.match(v.out, /bom\.json: config is valid \(experiment "cli-bom"/);

  const demo = await fireact(['validate', 'examples/demo.json']);
  assert.equal(demo.code, 0, demo.err);
  assert.match(demo.out, /^examples\/demo\.json: a workflow input \(\{"config": …\}, as `temporal workflow start --input-file` takes\); its config is valid \(experiment "demo"/);

  // Paths written in the file resolve against its folder, whatever the directory fireact runs in.
  const sub = path.join(dir, 'project', 'configs');
  await fs.mkdir(sub, { recursive: true });
  const rel = path.join(sub, 'rel.yaml');
  await fs.writeFile(rel, YAML.stringify({ ...plain, name: 'cli-rel', dataDir: path.relative(sub, DATA_DIR), artifactDir: '../arts', cacheDir: '../cache' }));
  for (const cwd of [REPO_ROOT, sub, dir]) {
    const p = await runFireact(['plan', path.relative(cwd, rel) || 'rel.yaml', '--json'], env.address, {}, cwd);
    assert.equal(p.code, 0, `plan from ${cwd}: ${p.err}`);
    assert.equal((JSON.parse(p.out) as { dataDir: string }).dataDir, DATA_DIR);
  }
  const started = await runFireact(['start', 'configs/rel.yaml', '--id', 'cli-rel-1', '--watch'], env.address, {}, path.join(dir, 'project'));
  assert.equal(started.code, 0, started.err);
  await fs.access(path.join(dir, 'project', 'arts', 'cli-rel-1', 'datasets', 'hotpotqa'));
  const input = (await env.client.workflow.getHandle('cli-rel-1').fetchHistory()).events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
  const config = (JSON.parse(Buffer.from(input.data!).toString()) as { config: { artifactDir: string; dataDir: string } }).config;
  assert.deepEqual([config.artifactDir, config.dataDir], [path.join(dir, 'project', 'arts'), DATA_DIR], 'the workflow gets absolute paths');
}, 120_000);

test('score: --split must be one of the task\'s splits', async () => {
  const preds = path.join(dir, 'preds.jsonl');
  await fs.writeFile(preds, '{"prediction": "x", "answer": "x"}\n');
  const r = await fireact(['score', '--task', 'hotpotqa', '--predictions', preds, '--split', 'trian']);
  assert.equal(r.code, 1);
  assert.match(r.err, /score: task hotpotqa has no split "trian"; its splits are: dev, test/);
  const ok = await fireact(['score', '--task', 'hotpotqa', '--predictions', preds, '--split', 'test']);
  assert.equal(ok.code, 0, ok.err);
});

test('the CLI bundle: built on first use (a fresh clone needs no build step), reused, rebuilt when a source changes', async () => {
  // Its own bundle folder: test files run side by side, and others' CLI calls use dist/cli.
  const distDir = path.join(REPO_ROOT, 'dist', 'cli-bundle-test');
  const own = (args: string[]) => runFireact(args, env.address, { FIREACT_CLI_BUNDLE_DIR: distDir });
  const manifest = async () => JSON.parse(await fs.readFile(path.join(distDir, 'manifest.json'), 'utf8')) as { bundle: string; inputs: Record<string, string> };
  await fs.rm(distDir, { recursive: true, force: true });
  const fresh = await own(['--help']);
  assert.equal(fresh.code, 0, fresh.err);
  assert.equal(fresh.err, '');
  const first = await manifest();
  for (const f of ['scripts/cli.ts', 'scripts/cli/args.ts', 'scripts/cli/plan.ts', 'lib/plan/plan.ts']) assert.ok(f in first.inputs, `${f} is a source of the bundle`);
  assert.equal((await own(['--help'])).code, 0);
  assert.equal((await manifest()).bundle, first.bundle, 'unchanged sources: the same bundle');

  // An edited source (here only its mtime moves) is picked up by the next call.
  const src = path.join(REPO_ROOT, 'scripts', 'cli', 'args.ts');
  const { mtime } = await fs.stat(src);
  await fs.utimes(src, new Date(), new Date(mtime.getTime() + 2000));
  assert.equal((await own(['status', '--help'])).code, 0);
  assert.notEqual((await manifest()).bundle, first.bundle, 'a changed source: a new bundle');
  await fs.rm(distDir, { recursive: true, force: true });
});
