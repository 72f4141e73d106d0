// Fault 6: the artifact folder unwritable in the middle of generation. Tests run as root, for whom
// chmod stops nothing, so the trajectories folder is swapped for a regular file for a few seconds:
// every write under it then fails (ENOTDIR/EEXIST) whoever the user is. The activity must fail with
// ArtifactWriteFailed naming the path, retry, and finish; no partial file may be taken as complete.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fakeTeacher, startFakeOpenAIServer } from '../support/fake-openai-server';
import { tempDir } from '../support/paths';
import { startDevServer } from '../support/temporal';
import { chaosConfig, checkOutcome, runBaseline, sleep, slowed, startExperiment, waitFor, Workers, writeCorpus, type ChaosRow } from './harness';

const code = (e: unknown) => (e as NodeJS.ErrnoException).code;

/** Moves every entry of `from` into `to` (a writer re-created `from` while it was blocked) and removes `from`. */
async function fold(from: string, to: string): Promise<void> {
  for (const name of await fs.readdir(from).catch(() => [])) await fs.rename(path.join(from, name), path.join(to, name)).catch(() => undefined);
  await fs.rmdir(from).catch(() => undefined);
}

/** Puts a regular file where the folder was; returns the function that puts the folder back. */
export async function blockFolder(folder: string): Promise<() => Promise<void>> {
  const away = `${folder}.away`;
  await fs.rename(folder, away);
  for (;;) {
    try {
      await fs.writeFile(folder, 'blocked by the chaos test\n', { flag: 'wx' });
      break;
    } catch (e) {
      if (code(e) !== 'EEXIST' && code(e) !== 'EISDIR') throw e;
      await fold(folder, away);
    }
  }
  return async () => {
    await fs.rm(folder);
    for (;;) {
      try {
        await fs.rename(away, folder);
        return;
      } catch (e) {
        if (code(e) !== 'ENOTEMPTY' && code(e) !== 'EEXIST') throw e;
        await fold(folder, away);
      }
    }
  };
}

export async function runUnwritableChaos(p: { episodes: number; blocks: number; blockMs: number }): Promise<ChaosRow> {
  const dir = await tempDir('chaos-rofs');
  await writeCorpus(dir);
  const model = await startFakeOpenAIServer({ behaviour: fakeTeacher({ searchFirst: true }) });
  const env = await startDevServer();
  const workers = new Workers(() => env.address, dir);
  try {
    const cfg = (run: string) => chaosConfig({ name: 'chaos-rofs', dir, run, teacherUrl: model.url, episodes: p.episodes });
    const baseline = await runBaseline(env.client, env.address, 'rofs-baseline', cfg('baseline'), `${dir}/baseline.log`);
    model.setBehaviour(slowed(fakeTeacher({ searchFirst: true }), 40));

    workers.start();
    const handle = await startExperiment(env.client, 'rofs-run', cfg('chaos'));
    const folder = path.join(dir, 'chaos', 'artifacts', 'rofs-run', 'trajectories', 'hotpotqa', 'dev', 'react');
    const written = async () => (await fs.readdir(folder).catch(() => [])).filter((f) => f.endsWith('.json')).length;
    let firstBlock = 0;
    for (let b = 0; b < p.blocks; b++) {
      const target = Math.floor((p.episodes * (b + 1)) / (p.blocks + 2));
      await waitFor(async () => (await written()) >= target, `${target} trajectories written`, 300_000);
      const restore = await blockFolder(folder);
      firstBlock ||= Date.now();
      await sleep(p.blockMs);
      await restore();
    }
    const result = await handle.result();
    const recoverSeconds = (Date.now() - firstBlock) / 1000;
    const outcome = await checkOutcome(result, baseline, p.episodes);

    // The failure was typed and named the path (the retried attempt carries it as its last failure).
    let histories = '';
    for await (const wf of env.client.workflow.list({ query: `WorkflowId STARTS_WITH "rofs-run"` })) {
      histories += JSON.stringify(await env.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory());
    }
    const seen = `${histories}\n${await workers.logs()}`;
    assert.match(seen, /ArtifactWriteFailed/, 'the write failure was typed ArtifactWriteFailed');
    assert.match(seen, /cannot write artifact [^"]*trajectories\/hotpotqa\/dev\/react/, 'the failure named the path');
    return {
      fault: 'artifact folder unwritable',
      runs: p.blocks,
      ...outcome,
      callsPaidTwice: 0,
      recoverSeconds,
      note: `trajectories folder replaced by a file ${p.blocks}× for ${p.blockMs} ms; ArtifactWriteFailed seen, retried, every trajectory parses; ${outcome.tempFilesLeft} orphaned temp file(s) left by cut-off writes, never read`,
    };
  } finally {
    await workers.stopAll();
    await env.teardown();
    await model.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}
