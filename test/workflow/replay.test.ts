// Deploying changed workflow code must not break experiments in flight: the current workflow code
// replays every history recorded from earlier releases (test/fixtures/histories/v<N>, written by
// scripts/record-histories.ts) without a nondeterminism error. A change that adds, drops or
// reorders commands must be guarded with patched() so that old histories take the old path.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from '@jest/globals';
import { Worker } from '@temporalio/worker';
import { historyFromJsonValue, type History } from '../../scripts/support/history-json';
import { workflowBundle } from '../../scripts/support/temporal';
import { REPO_ROOT } from '../../scripts/support/paths';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'histories');

interface Fixture {
  file: string;
  scenario: string;
  workflowId: string;
  workflowType: string;
  history: History;
}

/** Patches whose new path a recorded history must take, so that a change breaking it fails here. */
const RECORDED_PATCHES = ['episode-chunks', 'batch-generation'];

/** The patch ids whose markers a history records (the SDK's "core_patch" marker, its id in JSON). */
function patchesIn(history: History): string[] {
  return (history.events ?? []).flatMap((e) => {
    const m = e.markerRecordedEventAttributes;
    const data = m?.markerName === 'core_patch' ? m.details?.['patch-data']?.payloads?.[0]?.data : undefined;
    return data ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }).id] : [];
  });
}

async function fixtures(): Promise<Fixture[]> {
  const out: Fixture[] = [];
  for (const release of (await fs.readdir(FIXTURES)).sort()) {
    for (const name of (await fs.readdir(path.join(FIXTURES, release))).filter((f) => f.endsWith('.json')).sort()) {
      const file = path.join(release, name);
      const raw = JSON.parse(await fs.readFile(path.join(FIXTURES, file), 'utf8')) as Omit<Fixture, 'file' | 'history'> & { history: unknown };
      out.push({ ...raw, file, history: historyFromJsonValue(raw.history) });
    }
  }
  return out;
}

test('the current workflow code replays every recorded history deterministically', async () => {
  const all = await fixtures();
  // The recorded set covers each workflow type and a cancelled experiment; a lost fixture folder
  // must not make this test pass vacuously.
  const types = new Set(all.map((f) => f.workflowType));
  for (const t of ['FireActExperiment', 'GenerateShard', 'GenerateBatch', 'FineTuneStudent', 'EvaluateModel']) assert.ok(types.has(t), `a fixture of ${t}`);
  assert.ok(all.some((f) => f.scenario === 'cancel' && f.workflowType === 'FireActExperiment'), 'a cancelled experiment');
  assert.ok(all.some((f) => f.scenario === 'openai-cancel' && f.workflowType === 'FineTuneStudent'), 'a hosted fine-tuning job followed and cancelled');
  const recorded = new Set(all.flatMap((f) => patchesIn(f.history)));
  for (const p of RECORDED_PATCHES) assert.ok(recorded.has(p), `a fixture that takes patch "${p}"`);
  const scheduled = (f: Fixture) => (f.history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
  assert.ok(all.some((f) => f.workflowType === 'GenerateShard' && scheduled(f).includes('runEpisodes')), 'a shard running its episodes in chunks (runEpisodes)');

  const byId = new Map(all.map((f) => [f.workflowId, f]));
  const failures: string[] = [];
  let replayed = 0;
  const results = Worker.runReplayHistories(
    { workflowBundle: await workflowBundle(), replayName: 'fireact-replay-test' },
    all.map((f) => ({ workflowId: f.workflowId, history: f.history })),
  );
  for await (const r of results) {
    replayed += 1;
    if (r.error) failures.push(`${byId.get(r.workflowId)?.file ?? r.workflowId}: ${r.error.name}: ${r.error.message}`);
  }
  assert.equal(replayed, all.length);
  assert.deepEqual(failures, [], `histories that no longer replay:\n${failures.join('\n')}`);
}, 120_000);
