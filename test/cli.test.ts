// The `fireact` command against a real dev server: start, status, watch, list, cancel, validate,
// and the errors a user sees for an unknown experiment or an unreachable server.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import YAML from 'yaml';
import { fakeTeacher, startFakeOpenAIServer, type FakeOpenAIServer } from './support/fake-openai-server';
import { DATA_DIR, tempDir } from './support/paths';
import { startStack } from './support/temporal';
import { runFireact } from './support/cli';

let env: TestWorkflowEnvironment;
let stack: Awaited<ReturnType<typeof startStack>>;
let dir: string;
let slow: FakeOpenAIServer;

before(async () => {
  dir = await tempDir('cli');
  slow = await startFakeOpenAIServer({ behaviour: async (b, n) => ({ content: (await fakeTeacher()(b, n)) as string, delayMs: 1000 }) });
  stack = await startStack();
  env = stack.env;
});

after(async () => {
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

test('start, watch, status and list an experiment', { timeout: 120_000 }, async () => {
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
});

test('cancel stops a running experiment', { timeout: 120_000 }, async () => {
  const file = await writeConfig('cli-slow', {
    models: { teacher: { provider: 'openai', model: 'slow', baseUrl: slow.url } },
    generate: { teacher: 'teacher', tasks: [{ task: 'hotpotqa', split: 'dev', methods: ['cot'], sample: { n: 50 } }], episodeConcurrency: 1, maxParallelShards: 1 },
  });
  assert.equal((await fireact(['start', file, '--id', 'cli-slow-1'])).code, 0);
  const cancel = await fireact(['cancel', 'cli-slow-1']);
  assert.match(cancel.out, /cancellation requested for cli-slow-1/);
  const handle = env.client.workflow.getHandle('cli-slow-1');
  await assert.rejects(handle.result());
  assert.equal((await handle.describe()).status.name, 'CANCELLED');
  // The shard stops too: it does not go on through its remaining episodes.
  const shard = env.client.workflow.getHandle('cli-slow-1/generate/hotpotqa-dev-cot-0');
  await assert.rejects(shard.result());
  assert.equal((await shard.describe()).status.name, 'CANCELLED');
  const sent = slow.completionRequests;
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(slow.completionRequests, sent, 'no model call after the cancellation');
  assert.ok(sent < 5, `${sent} model calls for 50 planned episodes`);
});

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
  assert.equal(usage.code, 1);
  assert.match(usage.err, /unknown command "frobnicate"/);
});
