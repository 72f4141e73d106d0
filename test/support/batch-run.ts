// What the batch-generation tests share: a 3-task x 2-method config against the local server, and
// the batches one experiment made there.
import path from 'node:path';
import type { FakeOpenAIServer } from '../../scripts/support/fake-openai-server';
import { DATA_DIR } from '../../scripts/support/paths';

/** 3 tasks x 2 methods, n questions each (react searches once, then finishes). */
export function batchTestConfig(opts: { dir: string; url: string; name: string; mode: 'sync' | 'batch'; batch?: Record<string, unknown>; n?: number }) {
  const { dir, name, mode } = opts;
  return {
    name,
    dataDir: DATA_DIR,
    artifactDir: path.join(dir, name, 'artifacts'),
    cacheDir: path.join(dir, name, 'cache'),
    models: { teacher: { provider: 'openai', model: 'fake-teacher', baseUrl: opts.url } },
    prices: { 'fake-teacher': { input: 2.5, output: 10 } },
    search: { backend: 'local', corpus: path.join(dir, 'corpus.jsonl') },
    generate: {
      teacher: 'teacher',
      // Splits no evaluation uses (the leak check would refuse them).
      tasks: (
        [
          ['hotpotqa', 'test'],
          ['strategyqa', 'test'],
          ['mmlu', 'dev'],
        ] as const
      ).map(([task, split]) => ({ task, split, methods: ['react', 'cot'], sample: { n: opts.n ?? 3 } })),
      mode,
      ...(mode === 'batch' ? { batch: { pollMinSeconds: 0.05, pollMaxSeconds: 0.2, ...opts.batch } } : {}),
    },
    curate: { requireSuccess: false, excludeEvalQuestions: false },
    datasets: [{ name: 'all', tasks: ['hotpotqa', 'strategyqa', 'mmlu'], methods: ['react', 'cot'] }],
  };
}

/** The same config generating only `method` on `n` HotpotQA test questions. */
export function oneShard(config: ReturnType<typeof batchTestConfig>, method: 'react' | 'cot', n: number) {
  return { ...config, generate: { ...config.generate, tasks: [{ task: 'hotpotqa', split: 'test', methods: [method], sample: { n } }] } };
}

/** A small search corpus for the local search backend. */
export const CORPUS_JSONL = Array.from({ length: 30 }, (_, i) => JSON.stringify({ title: `Doc ${i}`, text: `Document ${i} mentions topic ${i} and year ${1900 + i}.` })).join('\n');

export const batchesOf = (server: FakeOpenAIServer, exp: string) => server.batchApi.batches.filter((b) => b.metadata?.fireact_key?.startsWith(`${exp}/`));

export async function waitFor(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
