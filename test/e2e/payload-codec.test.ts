// Payload encryption: the AES-256-GCM codec round-trips and refuses the wrong key clearly; an
// experiment run by a worker process and a client that both have FIREACT_PAYLOAD_KEY leaves histories
// whose payloads are ciphertext (the config's text is nowhere in the raw history), and the codec
// server decodes them back over real HTTP, as the Temporal UI would call it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, test } from '@jest/globals';
import { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { TASK_QUEUE } from '../../core/ids';
import { FireActExperiment } from '../../workflows';
import { payloadFromJson, payloadToJson, startCodecServer, type CodecServer, type JsonPayload } from '../../scripts/codec-server';
import {
  createAesGcmCodec,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  parsePayloadKey,
  payloadCodecsFromEnv,
  PAYLOAD_KEY_ENV,
  PAYLOAD_OLD_KEYS_ENV,
} from '../../workers/payload-codec';
import { DATA_DIR, tempDir } from '../../scripts/support/paths';
import { startDevServer } from '../../scripts/support/temporal';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../../scripts/support/worker-process';

const jsonPayload = (value: unknown): Payload => ({
  metadata: { encoding: Buffer.from('json/plain') },
  data: Buffer.from(JSON.stringify(value)),
});
const meta = (p: Payload, k: string) => Buffer.from(p.metadata?.[k] ?? []).toString('utf8');

test('round trip: encrypted payloads name their key id, hide the data and decode to the original', async () => {
  const [codec] = payloadCodecsFromEnv({ [PAYLOAD_KEY_ENV]: randomBytes(32).toString('base64') });
  const original = [jsonPayload({ question: 'Which river flows through Vienna?' }), { metadata: { encoding: Buffer.from('binary/null') } }];
  const encoded = await codec.encode(original);
  assert.equal(meta(encoded[0], 'encoding'), ENCRYPTED_ENCODING);
  assert.match(meta(encoded[0], KEY_ID_METADATA), /^[0-9a-f]{16}$/);
  assert.ok(!Buffer.from(encoded[0].data!).includes('Vienna'));
  const decoded = await codec.decode(encoded);
  assert.equal(Buffer.from(decoded[0].data!).toString(), JSON.stringify({ question: 'Which river flows through Vienna?' }));
  assert.equal(meta(decoded[0], 'encoding'), 'json/plain');
  assert.equal(meta(decoded[1], 'encoding'), 'binary/null');
  // Two encodings of the same value differ (fresh IV each time).
  assert.notDeepEqual(Buffer.from((await codec.encode(original))[0].data!), Buffer.from(encoded[0].data!));
  // A plain payload passes decode untouched (histories from before encryption was turned on).
  assert.deepEqual(await codec.decode([original[0]]), [original[0]]);
});

test('hex keys, and a rotated-out key still decrypts through FIREACT_PAYLOAD_OLD_KEYS', async () => {
  const oldKey = randomBytes(32).toString('hex');
  const [before] = payloadCodecsFromEnv({ [PAYLOAD_KEY_ENV]: oldKey });
  const stored = await before.encode([jsonPayload('from last month')]);
  const [after] = payloadCodecsFromEnv({ [PAYLOAD_KEY_ENV]: randomBytes(32).toString('base64'), [PAYLOAD_OLD_KEYS_ENV]: oldKey });
  assert.equal(Buffer.from((await after.decode(stored))[0].data!).toString(), '"from last month"');
  // New payloads use the new key.
  assert.notEqual(meta((await after.encode([jsonPayload(1)]))[0], KEY_ID_METADATA), meta(stored[0], KEY_ID_METADATA));
});

test('the wrong key fails clearly, and so does a tampered payload or a malformed key', async () => {
  const a = createAesGcmCodec({ key: parsePayloadKey(randomBytes(32).toString('base64')) });
  const bKey = parsePayloadKey(randomBytes(32).toString('base64'));
  const b = createAesGcmCodec({ key: bKey });
  const encrypted = await a.encode([jsonPayload('secret')]);
  await assert.rejects(b.decode(encrypted), (err: Error) => {
    assert.equal(err.name, 'PayloadDecryptError');
    assert.match(err.message, /encrypted with key id "[0-9a-f]{16}", which this process does not have/);
    assert.match(err.message, new RegExp(`has id "${bKey.id}"`));
    return true;
  });
  const tampered = { ...encrypted[0], data: Buffer.from(encrypted[0].data!) };
  tampered.data[20] ^= 1;
  await assert.rejects(a.decode([tampered]), /failed authentication: it was altered or the key is wrong/);
  assert.throws(() => parsePayloadKey(randomBytes(16).toString('base64')), /must be 32 bytes \(AES-256\); it decodes to 16 bytes/);
  assert.throws(() => parsePayloadKey('not a key!'), /must be 32 bytes written as 64 hex digits or base64/);
  assert.deepEqual(payloadCodecsFromEnv({}), [], 'no key, no codec');
});

// ---- an experiment with encryption on ----

const KEY = randomBytes(32).toString('base64');
let env: TestWorkflowEnvironment;
let dir: string;
let worker: WorkerProcess | undefined;
let codecServer: CodecServer;

beforeAll(async () => {
  dir = await tempDir('codec');
  env = await startDevServer();
  codecServer = await startCodecServer({ codecs: payloadCodecsFromEnv({ [PAYLOAD_KEY_ENV]: KEY }), port: 0, allowedOrigins: ['http://localhost:8233'] });
});

afterAll(async () => {
  await stopWorkerProcess(worker);
  await env?.teardown();
  await codecServer?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

async function post(route: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown; headers: Headers }> {
  const res = await fetch(`${codecServer.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json(), headers: res.headers };
}

test('an experiment with FIREACT_PAYLOAD_KEY: histories hold ciphertext, the codec server decodes them', async () => {
  const marker = `codec-marker-${randomBytes(6).toString('hex')}`;
  const config = {
    name: 'codec',
    description: marker,
    dataDir: DATA_DIR,
    artifactDir: path.join(dir, 'artifacts'),
    cacheDir: path.join(dir, 'cache'),
    models: { teacher: { provider: 'replay', model: 'gpt-4', replayFiles: ['hotpotqa'] } },
    generate: { teacher: 'teacher', tasks: [{ task: 'hotpotqa', split: 'fireact-react', methods: ['react'], sample: { n: 4 } }] },
    datasets: [{ name: 'hotpotqa', tasks: ['hotpotqa'], methods: ['react'] }],
  };
  worker = startWorkerProcess(env.address, path.join(dir, 'worker.log'), { [PAYLOAD_KEY_ENV]: KEY });
  const client = new Client({ connection: env.connection, dataConverter: { payloadCodecs: payloadCodecsFromEnv({ [PAYLOAD_KEY_ENV]: KEY }) } });
  const handle = await client.workflow.start(FireActExperiment, { taskQueue: TASK_QUEUE, workflowId: 'codec-run', args: [{ config }] });
  const result = await handle.result();
  assert.equal(result.episodes, 4);

  // Raw histories, read without the codec: every payload is ciphertext and the config's text is absent.
  let runs = 0;
  let startInput: Payload | undefined;
  for await (const wf of env.client.workflow.list()) {
    runs++;
    const history = await env.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    const raw = Buffer.from(temporal.api.history.v1.History.encode(temporal.api.history.v1.History.fromObject(history)).finish());
    assert.ok(!raw.includes(marker), `${wf.workflowId}: the config text is not in the raw history`);
    assert.ok(!raw.includes(dir), `${wf.workflowId}: the artifact paths are not in the raw history`);
    for (const e of history.events ?? []) {
      for (const p of [...(e.workflowExecutionStartedEventAttributes?.input?.payloads ?? []), ...(e.activityTaskCompletedEventAttributes?.result?.payloads ?? [])]) {
        assert.equal(meta(p as Payload, 'encoding'), ENCRYPTED_ENCODING);
      }
    }
    if (wf.workflowId === 'codec-run') startInput = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0] as Payload;
  }
  assert.ok(runs >= 2, 'the experiment and its shard were listed');
  assert.ok(startInput);
  assert.throws(() => JSON.parse(Buffer.from(startInput.data!).toString('utf8')), SyntaxError, 'the stored input is not readable JSON');

  // The codec server, over HTTP, as the UI calls it (JSON with base64 fields).
  const decoded = await post('/decode', { payloads: [payloadToJson(startInput)] }, { origin: 'http://localhost:8233', 'x-namespace': 'default' });
  assert.equal(decoded.status, 200);
  assert.equal(decoded.headers.get('access-control-allow-origin'), 'http://localhost:8233');
  const [plain] = (decoded.json as { payloads: JsonPayload[] }).payloads.map(payloadFromJson);
  assert.equal(meta(plain, 'encoding'), 'json/plain');
  const input = JSON.parse(Buffer.from(plain.data!).toString('utf8')) as { config: { description: string } };
  assert.equal(input.config.description, marker);

  // /encode then /decode gives the value back; a preflight from the UI is allowed; another origin is not.
  const enc = await post('/encode', { payloads: [payloadToJson(jsonPayload({ x: marker }))] });
  const encPayload = (enc.json as { payloads: JsonPayload[] }).payloads[0];
  assert.equal(Buffer.from(encPayload.metadata!.encoding, 'base64').toString(), ENCRYPTED_ENCODING);
  const back = await post('/decode', { payloads: [encPayload] });
  assert.deepEqual(JSON.parse(Buffer.from(payloadFromJson((back.json as { payloads: JsonPayload[] }).payloads[0]).data!).toString()), { x: marker });
  const preflight = await fetch(`${codecServer.url}/decode`, { method: 'OPTIONS', headers: { origin: 'http://localhost:8233', 'access-control-request-method': 'POST' } });
  assert.equal(preflight.status, 204);
  assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /x-namespace/);
  const foreign = await post('/decode', { payloads: [] }, { origin: 'http://evil.example' });
  assert.equal(foreign.headers.get('access-control-allow-origin'), null);

  // A codec server with another key answers 400 naming the problem.
  const other = await startCodecServer({ codecs: payloadCodecsFromEnv({ [PAYLOAD_KEY_ENV]: randomBytes(32).toString('base64') }), port: 0, allowedOrigins: [] });
  try {
    const res = await fetch(`${other.url}/decode`, { method: 'POST', body: JSON.stringify({ payloads: [payloadToJson(startInput)] }) });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: string }).error, /which this process does not have/);
  } finally {
    await other.close();
  }
}, 120_000);
