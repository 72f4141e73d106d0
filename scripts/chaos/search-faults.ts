// Fault 4: the search backend failing or slow. A SerpAPI-shaped server answers 500 for some queries
// and holds others past the client's timeout; each failure becomes a "Search failed: ..." observation
// and the episode goes on to its answer. Which queries fail is fixed by the query text, so a second
// run against the same server gives the same datasets (the check that nothing is lost or doubled).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fakeTeacher, startFakeOpenAIServer } from '../support/fake-openai-server';
import { tempDir } from '../support/paths';
import { startDevServer } from '../support/temporal';
import { chaosConfig, checkOutcome, runBaseline, type ChaosRow } from './harness';

const KEY = 'chaos-serpapi-key';
const TIMEOUT_MS = 800;

type Fate = 'ok' | 'fail' | 'slow';
const fate = (q: string, every: number): Fate => {
  const h = parseInt(createHash('sha256').update(q).digest('hex').slice(0, 8), 16) % every;
  return h === 0 ? 'fail' : h === 1 ? 'slow' : 'ok';
};

async function startFaultySerpApi(every: number) {
  const seen: Array<{ q: string; fate: Fate }> = [];
  // Slow answers still pending at close are dropped: a pending timer would keep the process alive.
  const pending = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams.get('q') ?? '';
    const f = fate(q, every);
    seen.push({ q, fate: f });
    const send = (status: number, body: unknown) => {
      if (!res.destroyed) res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (f === 'fail') return send(500, { error: 'Internal server error' });
    const ok = () => send(200, { search_metadata: { status: 'Success' }, organic_results: [{ position: 1, title: q, snippet: `A page about ${q}.` }] });
    if (f === 'slow') {
      const timer = setTimeout(() => {
        pending.delete(timer);
        ok();
      }, TIMEOUT_MS * 4);
      pending.add(timer);
    } else ok();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        for (const timer of pending) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export async function runSearchFaultChaos(p: { episodes: number; every: number }): Promise<ChaosRow> {
  const dir = await tempDir('chaos-search');
  const model = await startFakeOpenAIServer({ behaviour: fakeTeacher({ searchFirst: true }) });
  const serp = await startFaultySerpApi(p.every);
  const env = await startDevServer();
  const workerEnv = { CHAOS_SERPAPI_KEY: KEY };
  try {
    const cfg = (run: string) =>
      chaosConfig({
        name: 'chaos-search',
        dir,
        run,
        teacherUrl: model.url,
        episodes: p.episodes,
        search: { backend: 'serpapi', baseUrl: serp.url, apiKeyEnv: 'CHAOS_SERPAPI_KEY', timeoutMs: TIMEOUT_MS },
      });
    const baseline = await runBaseline(env.client, env.address, 'search-baseline', cfg('baseline'), `${dir}/baseline.log`, workerEnv);
    const t0 = Date.now();
    const result = await runBaseline(env.client, env.address, 'search-run', cfg('chaos'), `${dir}/chaos.log`, workerEnv);
    const seconds = (Date.now() - t0) / 1000;
    const outcome = await checkOutcome(result, baseline, p.episodes);

    // Failed searches are observations, and the episode went on to an answer after them.
    const trajDir = path.join(result.artifactDir, result.experiment, 'trajectories', 'hotpotqa', 'dev', 'react');
    let failed = 0;
    let timedOut = 0;
    for (const f of (await fs.readdir(trajDir)).filter((n) => n.endsWith('.json'))) {
      const text = await fs.readFile(path.join(trajDir, f), 'utf8');
      const rec = JSON.parse(text) as { turns: Array<{ role?: string; content?: string; observation?: string }> };
      const flat = JSON.stringify(rec.turns);
      if (!flat.includes('Search failed:')) continue;
      failed++;
      if (/time|abort/i.test(flat)) timedOut++;
      assert.match(flat.slice(flat.indexOf('Search failed:')), /finish\[/, `episode ${f} went on after the failed search`);
    }
    assert.ok(serp.seen.some((s) => s.fate === 'fail') && serp.seen.some((s) => s.fate === 'slow'), 'both faults were served');
    assert.ok(failed > 0 && timedOut > 0, `failed searches became observations (${failed}, ${timedOut} timeouts)`);
    return {
      fault: 'search backend 500 / slow',
      runs: failed,
      ...outcome,
      callsPaidTwice: 0,
      recoverSeconds: seconds,
      note: `${failed} episodes met a failed search (${timedOut} timeouts) and went on; hashes compared with a second run against the same failing server`,
    };
  } finally {
    await env.teardown();
    await serp.close();
    await model.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}
