// No secret in Temporal: a real experiment runs with fake keys that exist only in the worker's
// environment (a teacher behind the fake OpenAI server, SerpAPI search, an OpenAI fine-tuning student),
// with servers that echo the key back in their errors (500s that are retried, a SerpAPI 401 that becomes
// an observation, and a 401 that ends a second experiment at once). Then every history of every workflow run,
// the list entries (memos, search attributes), the pending activities seen while it ran (heartbeat
// details, last failures), the artifact and cache folders and the worker's log are searched for each
// key, raw, base64 (at every byte alignment) and URL-encoded. None may appear.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, test } from '@jest/globals';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { TASK_QUEUE } from '../../core/ids';
import { FireActExperiment } from '../../workflows';
import { fakeTeacher, startFakeOpenAIServer, type FakeOpenAIServer } from '../../scripts/support/fake-openai-server';
import { startFakeFineTuneServer, type FakeFineTuneServer } from '../../scripts/support/fake-finetune-server';
import { startFakeSerpApi, type FakeServer } from '../../scripts/support/fake-search-servers';
import { DATA_DIR, tempDir } from '../../scripts/support/paths';
import { startDevServer } from '../../scripts/support/temporal';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../../scripts/support/worker-process';

const randomKey = (prefix: string) => {
  let s = '';
  while (s.length < 40) s += randomBytes(32).toString('base64').replace(/[^A-Za-z0-9]/g, '');
  return prefix + s.slice(0, 40);
};

const KEYS = {
  FIREACT_TEST_OPENAI_KEY: randomKey('sk-test-'),
  FIREACT_TEST_SERPAPI_KEY: randomKey(''),
  FIREACT_TEST_FT_KEY: randomKey('sk-ft-test-'),
};

/** The forms a key could take in stored bytes: raw, URL-encoded, and base64 at each of the three byte alignments. */
function secretForms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const forms = new Set([secret, encodeURIComponent(secret)]);
  for (let offset = 0; offset < 3; offset++) {
    const b64 = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    // Drop the characters that also encode the unknown bytes around the key.
    const inner = b64.slice(offset === 0 ? 0 : 4, b64.length - 4);
    forms.add(inner);
    forms.add(inner.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return [...forms];
}

interface Exported {
  what: string;
  bytes: Buffer;
}

function findLeaks(exported: Exported[]): string[] {
  const leaks: string[] = [];
  for (const [name, key] of Object.entries(KEYS)) {
    for (const form of secretForms(key)) {
      for (const e of exported) if (e.bytes.includes(form)) leaks.push(`${name} (as ${form === key ? 'raw' : form}) in ${e.what}`);
    }
  }
  return leaks;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(p)));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

/** Every run of every workflow: the list entry (memo, search attributes) and the whole history, as proto bytes and as JSON. */
async function exportAllHistories(client: Client): Promise<{ exported: Exported[]; runs: number; historiesJson: string[] }> {
  const exported: Exported[] = [];
  const historiesJson: string[] = [];
  let runs = 0;
  for await (const wf of client.workflow.list()) {
    runs++;
    const what = `${wf.workflowId} run ${wf.runId}`;
    exported.push({ what: `${what} list entry`, bytes: Buffer.from(temporal.api.workflow.v1.WorkflowExecutionInfo.encode(wf.raw).finish()) });
    const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    const proto = temporal.api.history.v1.History.fromObject(history);
    const json = JSON.stringify(proto.toJSON());
    historiesJson.push(json);
    exported.push({ what: `${what} history`, bytes: Buffer.from(temporal.api.history.v1.History.encode(proto).finish()) });
    exported.push({ what: `${what} history JSON`, bytes: Buffer.from(json) });
  }
  return { exported, runs, historiesJson };
}

let env: TestWorkflowEnvironment;
let teacher: FakeOpenAIServer;
let serp: FakeServer;
let ft: FakeFineTuneServer;
let dir: string;
let worker: WorkerProcess | undefined;
let studentApi: http.Server;
let studentApiUrl: string;

/** One base URL for the OpenAI student, as OpenAI has: fine-tuning on the fake fine-tune server, chat (the fine-tuned model answering in evaluation) on the fake chat server. */
async function startStudentApi(): Promise<void> {
  studentApi = http.createServer((req, res) => {
    const target = new URL(/\/chat\/completions$/.test(req.url ?? '') ? teacher.url : ft.url);
    const upstream = http.request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => studentApi.listen(0, '127.0.0.1', resolve));
  studentApiUrl = `http://127.0.0.1:${(studentApi.address() as AddressInfo).port}/v1`;
}

beforeAll(async () => {
  dir = await tempDir('secrets');
  const answer = fakeTeacher({ searchFirst: true });
  teacher = await startFakeOpenAIServer({
    behaviour: (body, n) => {
      const given = (teacher.requests.find((r) => r.requestNumber === n)?.authorization ?? '').replace(/^Bearer\s+/i, '');
      // Servers that name the key they were given, as OpenAI's 401 does (in full here). A 401 ends an
      // experiment at once, so it is the second experiment's teacher (model "fake-teacher-401") that gets it.
      if (body.model === 'fake-teacher-401') return { status: 401, error: { message: `Incorrect API key provided: ${given}.`, type: 'invalid_request_error', code: 'invalid_api_key' } };
      if (n === 1 || n === 2) return { status: 500, error: { message: `upstream rejected ${given}`, type: 'server_error', code: null } };
      // The teacher's key, or the student's when its fine-tuned model answers in evaluation.
      if (given !== KEYS.FIREACT_TEST_OPENAI_KEY && given !== KEYS.FIREACT_TEST_FT_KEY) return { status: 401, error: { message: 'wrong key', type: 'invalid_request_error', code: 'invalid_api_key' } };
      return answer(body, n);
    },
  });
  serp = await startFakeSerpApi({ apiKey: KEYS.FIREACT_TEST_SERPAPI_KEY, results: {} });
  serp.failWith({ status: 401, body: JSON.stringify({ error: `Invalid API key ${KEYS.FIREACT_TEST_SERPAPI_KEY}` }), times: 1 });
  ft = await startFakeFineTuneServer({ apiKey: KEYS.FIREACT_TEST_FT_KEY, stepMs: 20, totalSteps: 8 });
  ft.addFault({ method: 'GET', path: /^\/v1\/fine_tuning\/jobs\/[^/]+$/, status: 500, error: { message: `proxy saw Bearer ${KEYS.FIREACT_TEST_FT_KEY}` }, times: 1 });
  await startStudentApi();
  env = await startDevServer();
});

afterAll(async () => {
  await stopWorkerProcess(worker);
  await env?.teardown();
  studentApi?.closeAllConnections();
  await new Promise((r) => (studentApi ? studentApi.close(r) : r(undefined)));
  await Promise.all([teacher?.close(), serp?.close(), ft?.close()]);
  await fs.rm(dir, { recursive: true, force: true });
});

test('no API key appears in any history, list entry, pending activity, artifact, cache file or worker log', async () => {
  const config = {
    name: 'secrets',
    dataDir: DATA_DIR,
    artifactDir: path.join(dir, 'artifacts'),
    cacheDir: path.join(dir, 'cache'),
    models: {
      teacher: { provider: 'openai', model: 'fake-teacher', baseUrl: teacher.url, apiKeyEnv: 'FIREACT_TEST_OPENAI_KEY', maxConcurrency: 4 },
    },
    search: { backend: 'serpapi', baseUrl: serp.url, apiKeyEnv: 'FIREACT_TEST_SERPAPI_KEY' },
    generate: {
      teacher: 'teacher',
      tasks: [{ task: 'hotpotqa', split: 'dev', methods: ['react'], sample: { n: 12 } }],
      shardSize: 6,
      episodeConcurrency: 3,
    },
    curate: { requireSuccess: false, excludeEvalQuestions: false },
    datasets: [{ name: 'all', tasks: ['hotpotqa'], methods: ['react'] }],
    students: [{ name: 'gpt35', backend: 'openai', baseModel: 'gpt-3.5-turbo-0125', baseUrl: studentApiUrl, apiKeyEnv: 'FIREACT_TEST_FT_KEY', datasets: ['all'], nEpochs: 1 }],
    evaluate: { tasks: [{ task: 'hotpotqa', split: 'dev', sample: { n: 3 } }], baselines: [{ model: 'teacher', methods: ['react'] }], baseModels: false },
  };
  const logFile = path.join(dir, 'worker.log');
  // The keys live in the worker's environment only; this process never has them.
  for (const name of Object.keys(KEYS)) assert.equal(process.env[name], undefined);
  worker = startWorkerProcess(env.address, logFile, { ...KEYS, FIREACT_LOG_LEVEL: 'INFO' });

  const handle = await env.client.workflow.start(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId: 'secrets-run', args: [{ config }] });

  // While it runs: the pending activities of every open workflow (heartbeat details, last failures).
  const live: Exported[] = [];
  let heartbeats = 0;
  let running = true;
  const poller = (async () => {
    while (running) {
      for await (const wf of env.client.workflow.list({ query: 'ExecutionStatus = "Running"' })) {
        const d = await env.client.workflow.getHandle(wf.workflowId, wf.runId).describe().catch(() => undefined);
        heartbeats += d?.raw.pendingActivities?.filter((a) => a.heartbeatDetails?.payloads?.length).length ?? 0;
        if (d) live.push({ what: `${wf.workflowId} described while running`, bytes: Buffer.from(temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse.encode(d.raw).finish()) });
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  let result;
  try {
    result = await handle.result();
  } catch (err) {
    const causes: string[] = [];
    for (let e: unknown = err; e instanceof Error; e = e.cause) causes.push(e.message);
    throw new Error(`experiment failed: ${causes.join(' <- ')}\n${(await fs.readFile(logFile, 'utf8')).slice(-3000)}`);
  } finally {
    running = false;
    await poller;
  }

  // The fault paths really ran with the keys in play.
  assert.equal(result.students.length, 1);
  assert.deepEqual(result.evaluation.map((r) => `${r.kind}:${r.n}`).sort(), ['student:3', 'teacher:3'], 'the fine-tuned student and the teacher were evaluated with their keys');
  assert.ok(teacher.requests.some((r) => r.authorization === `Bearer ${KEYS.FIREACT_TEST_FT_KEY}` && r.outcome === 'ok'), 'the fine-tuned model answered');
  assert.equal(result.generate.failed, 0);
  assert.ok(teacher.requests.some((r) => r.outcome === 'status 500'), 'a 500 naming the key was retried');
  assert.ok(serp.requests.length > 1, 'SerpAPI was called');
  assert.ok(ft.requests.some((r) => r.status === 500), 'the fine-tuning server answered a 500 naming the key');
  assert.ok(heartbeats > 0, 'heartbeat details of pending activities were captured');

  // Wait until visibility lists every run (it trails the histories a little).
  // A second experiment whose teacher call is refused with a 401 naming the key: it fails fast.
  const refused = env.client.workflow.start(FireActExperiment, {
    taskQueue: TASK_QUEUE,
    workflowId: 'secrets-401',
    args: [{ config: { ...config, name: 'secrets-401', models: { ...config.models, refused: { ...config.models.teacher, model: 'fake-teacher-401' } }, generate: { ...config.generate, teacher: 'refused' } } }],
  });
  await assert.rejects((await refused).result(), (err: Error) => {
    const messages: string[] = [];
    for (let e: unknown = err; e instanceof Error; e = e.cause) messages.push(e.message);
    assert.match(messages.join(' <- '), /HTTP 401: Incorrect API key provided: \[redacted\]/);
    return true;
  });

  const expectedRuns = 8; // each experiment, its two shards; the fine-tune child and two evaluations of the first
  let exportedAll = await exportAllHistories(env.client);
  for (let i = 0; i < 50 && exportedAll.runs < expectedRuns; i++) {
    await new Promise((r) => setTimeout(r, 100));
    exportedAll = await exportAllHistories(env.client);
  }
  const { exported, runs, historiesJson } = exportedAll;
  assert.ok(runs >= expectedRuns, `every run is listed (got ${runs})`);
  const all = historiesJson.join('\n');
  assert.match(all, /ModelAuth/, 'the 401 failure is in a history');
  assert.match(all, /\[redacted\]/, 'the key echoed by the 401 was redacted in the failure message');

  const files = [...(await filesUnder(path.join(dir, 'artifacts'))), ...(await filesUnder(path.join(dir, 'cache'))), logFile];
  const stored: Exported[] = await Promise.all(files.map(async (f) => ({ what: path.relative(dir, f), bytes: await fs.readFile(f) })));
  const trajectories = stored.filter((s) => s.what.includes(`${path.sep}trajectories${path.sep}`)).map((s) => s.bytes.toString('utf8'));
  assert.ok(trajectories.some((t) => /Search failed: SerpAPI refused access \(HTTP 401\).*\[redacted\]/.test(t)), 'the SerpAPI 401 became an observation, key redacted');

  const leaks = findLeaks([...exported, ...live, ...stored]);
  assert.deepEqual(leaks, [], `secrets found:\n${leaks.join('\n')}`);
  // The search can fail: a key planted in a history would be found.
  assert.notDeepEqual(findLeaks([{ what: 'planted', bytes: Buffer.from(`x${Buffer.from(`"${KEYS.FIREACT_TEST_FT_KEY}"`).toString('base64')}`) }]), []);
}, 150_000);
