// Fault 3: the model server misbehaving. Transient faults (429 with Retry-After, 500, 503, resets,
// replies that never come, truncated JSON, empty choices, text with no parsable action) are mixed
// over a run: retries back off, honour Retry-After, and the datasets come out as undisturbed. A 400
// or a 401 fails fast: a clear message naming the model and endpoint, one request per distinct call.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { canonicalJson } from '../../lib/cache/content-cache';
import { faultReply, fakeTeacher, startFakeOpenAIServer, type FakeBehaviour, type FakeReply } from '../support/fake-openai-server';
import { tempDir } from '../support/paths';
import { startDevServer } from '../support/temporal';
import { chaosConfig, checkOutcome, paidTwice, runBaseline, sleep, startExperiment, Workers, writeCorpus, type ChaosRow } from './harness';

const TRANSIENT = ['429', '500', '503', 'reset', 'hang', 'truncated', 'empty-choices', 'garbage'] as const;
const TIMEOUT_MS = 1500;

/**
 * The teacher both runs share. The agent answers a reply with no parsable action by sending it back
 * with a nudge; this teacher ignores those pairs, so a nudged episode ends as an undisturbed one.
 */
function teacher(): FakeBehaviour {
  const base = fakeTeacher({ searchFirst: true });
  return (body, n) => {
    const msgs = body.messages ?? [];
    const kept: typeof msgs = [];
    for (let i = 0; i < msgs.length; i++) {
      if (msgs[i].role === 'assistant' && !/Action:/.test(msgs[i].content)) {
        i++; // and the nudge after it
        continue;
      }
      kept.push(msgs[i]);
    }
    return base({ ...body, messages: kept }, n);
  };
}

const keyOf = (body: unknown) => canonicalJson((body as { messages?: unknown }).messages ?? body);

/** Faults the first request of every `every`-th distinct body, cycling through the transient kinds. */
function faulty(every: number): { behaviour: FakeBehaviour; injected: Map<string, string> } {
  const clean = teacher();
  const seen = new Set<string>();
  const injected = new Map<string, string>();
  let distinct = 0;
  const behaviour: FakeBehaviour = (body, n) => {
    const key = keyOf(body);
    if (!seen.has(key)) {
      seen.add(key);
      distinct++;
      if (distinct % every === 0) {
        const kind = TRANSIENT[(distinct / every) % TRANSIENT.length];
        injected.set(key, kind);
        if (kind === 'garbage') return 'I am not sure what to do here.';
        return faultReply(kind) as FakeReply;
      }
    }
    return clean(body, n);
  };
  return { behaviour, injected };
}

export interface ModelFaultParams {
  episodes: number;
  /** One distinct request in this many gets a fault. */
  every: number;
}

export async function runModelFaultChaos(p: ModelFaultParams): Promise<ChaosRow> {
  const dir = await tempDir('chaos-model');
  await writeCorpus(dir);
  const model = await startFakeOpenAIServer({ behaviour: teacher() });
  const env = await startDevServer();
  try {
    const cfg = (run: string) => chaosConfig({ name: 'chaos-model', dir, run, teacherUrl: model.url, episodes: p.episodes, teacherTimeoutMs: TIMEOUT_MS });
    const baseline = await runBaseline(env.client, env.address, 'model-baseline', cfg('baseline'), `${dir}/baseline.log`);
    model.clearLog();
    const { behaviour, injected } = faulty(p.every);
    model.setBehaviour(behaviour);
    const t0 = Date.now();
    const result = await runBaseline(env.client, env.address, 'model-run', cfg('chaos'), `${dir}/chaos.log`);
    const outcome = await checkOutcome(result, baseline, p.episodes);

    // Each faulted request was tried again, after the wait the fault called for.
    const reqs = model.requests.filter((r) => r.requestNumber > 0);
    const kinds = new Set(injected.values());
    for (const k of TRANSIENT) assert.ok(kinds.has(k), `fault ${k} was injected`);
    let retryAfterWaits = 0;
    for (const [key, kind] of injected) {
      if (kind === 'garbage') continue; // answered 200: the agent nudges, a different body
      const tries = reqs.filter((r) => keyOf(r.body) === key);
      assert.ok(tries.length >= 2, `a request that met ${kind} was retried`);
      // A hang ends when the client's timeout fires (the server sees the close a little later).
      const end = kind === 'hang' ? tries[0].receivedAt + TIMEOUT_MS : (tries[0].endedAt ?? tries[0].receivedAt);
      const gap = tries[1].receivedAt - end;
      if (kind === '429') {
        assert.ok(gap >= 950, `Retry-After: 1 honoured (waited ${gap} ms)`);
        retryAfterWaits++;
      } else {
        assert.ok(gap >= (kind === 'hang' ? 150 : 200), `backed off after ${kind} (waited ${gap} ms)`);
      }
    }
    assert.ok(retryAfterWaits > 0);
    const paid = paidTwice(model.requests, []);
    assert.equal(paid.twice, 0, 'no request answered twice');
    return {
      fault: 'model server faults',
      runs: injected.size,
      ...outcome,
      callsPaidTwice: paid.twice,
      recoverSeconds: (Date.now() - t0) / 1000,
      note: `${injected.size} faults injected (${[...kinds].join(', ')}); recover time is the whole faulted run`,
    };
  } finally {
    await env.teardown();
    await model.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

function messages(err: unknown): string {
  const out: string[] = [];
  for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) out.push(e.message ?? '');
  return out.join(' <- ');
}

/** A 400 or 401 from the model: the experiment fails at once, one request per distinct call. */
export async function runFailFast(status: '400' | '401', episodes = 8): Promise<{ requests: number; message: string; seconds: number }> {
  const dir = await tempDir(`chaos-${status}`);
  await writeCorpus(dir);
  const model = await startFakeOpenAIServer({ behaviour: () => faultReply(status) });
  let env: TestWorkflowEnvironment | undefined;
  const workers = new Workers(() => env!.address, dir);
  try {
    env = await startDevServer();
    workers.start();
    const t0 = Date.now();
    const handle = await startExperiment(env.client, `fail-${status}`, chaosConfig({ name: `fail-${status}`, dir, run: 'r', teacherUrl: model.url, episodes }));
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    const seconds = (Date.now() - t0) / 1000;
    assert.ok(err, 'the experiment failed');
    const message = messages(err);
    assert.match(message, /model "teacher" \(fake-teacher at http:\/\/127\.0\.0\.1:\d+\/v1/, 'the message names the model and endpoint');
    assert.match(message, status === '401' ? /401|API key/i : /400|Invalid request/i);
    await sleep(1500); // nothing keeps calling after the failure
    const reqs = model.requests.filter((r) => r.requestNumber > 0);
    const perBody = new Map<string, number>();
    for (const r of reqs) perBody.set(keyOf(r.body), (perBody.get(keyOf(r.body)) ?? 0) + 1);
    assert.ok(reqs.length > 0);
    assert.deepEqual([...perBody.values()].filter((n) => n > 1), [], 'no request sent twice');
    assert.ok(reqs.length <= episodes, `no retry storm (${reqs.length} requests for ${episodes} episodes)`);
    return { requests: reqs.length, message, seconds };
  } finally {
    await workers.stopAll();
    await env?.teardown();
    await model.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}
