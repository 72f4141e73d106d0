// Tool-noise wrappers over a real (local BM25) search backend.
import assert from 'node:assert/strict';
import { test } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import { emptySearch, randomSnippetSearch, snippetIndex } from '../../lib/evaluate/noise';
import { buildLocalIndex } from '../../lib/tools/local-index';
import { createLocalSearch } from '../../lib/tools/local-search';
import { noResultsObservation } from '../../lib/tools/observation';
import type { SearchBackend } from '../../lib/tools/types';

const SNIPPETS = [
  'Paris is the capital and most populous city of France.',
  'Mount Everest is the highest mountain above sea level.',
  'The Nile is a major north-flowing river in northeastern Africa.',
  'Ada Lovelace was an English mathematician and writer.',
  'The Great Barrier Reef is the largest coral reef system.',
];

function counted(inner: SearchBackend): SearchBackend & { calls: number } {
  const b = {
    name: inner.name,
    calls: 0,
    search(...args: Parameters<SearchBackend['search']>) {
      b.calls += 1;
      return inner.search(...args);
    },
  };
  return b;
}

const local = () => counted(createLocalSearch({ index: buildLocalIndex(SNIPPETS.map((text, i) => ({ id: String(i), text }))) }));

test('emptySearch answers every query with the no-results observation and never calls the backend', async () => {
  const inner = local();
  const noisy = emptySearch(inner);
  const r = await noisy.search({ query: 'capital of France' });
  assert.equal(r.observation, noResultsObservation('capital of France'));
  assert.equal(r.backend, 'local+empty');
  assert.equal(inner.calls, 0);
  await assert.rejects(noisy.search({ query: 'x' }, AbortSignal.abort()));
});

test('randomSnippetSearch is deterministic per (seed, query) and never returns the true snippet', async () => {
  const inner = local();
  const noisy = randomSnippetSearch(inner, SNIPPETS, 233);
  const queries = ['capital of France', 'highest mountain', 'river in Africa', 'Ada Lovelace', 'coral reef', 'Paris France city'];
  const seen = new Set<string>();
  for (const query of queries) {
    const truth = (await inner.search({ query })).observation;
    const a = await noisy.search({ query });
    const b = await noisy.search({ query });
    assert.equal(a.observation, b.observation, query);
    assert.notEqual(a.observation, truth, `${query} got its own snippet`);
    assert.ok(SNIPPETS.includes(a.observation));
    assert.equal(a.backend, 'local+random');
    seen.add(a.observation);
  }
  assert.ok(seen.size >= 2, 'different queries should land on different snippets');
  // Another seed moves at least one query.
  const other = randomSnippetSearch(local(), SNIPPETS, 234);
  const moved = await Promise.all(queries.map(async (q) => (await other.search({ query: q })).observation !== (await noisy.search({ query: q })).observation));
  assert.ok(moved.some(Boolean));
});

test('the pick is hash(seed, query) into the snippets, and stands when the backend fails', async () => {
  const failing: SearchBackend = {
    name: 'down',
    search: () => Promise.reject(new Error('connection refused')),
  };
  const noisy = randomSnippetSearch(failing, SNIPPETS, 5);
  const r = await noisy.search({ query: 'anything' });
  assert.equal(r.observation, SNIPPETS[snippetIndex(5, 'anything', SNIPPETS.length)]);
  await assert.rejects(noisy.search({ query: 'anything' }, AbortSignal.abort()));
  assert.equal(snippetIndex(5, 'anything', 1000), snippetIndex(5, 'anything', 1000));
  assert.ok(snippetIndex(5, 'anything', 7) < 7);
});

test('no snippets is an InvalidConfig failure', () => {
  assert.throws(
    () => randomSnippetSearch(local(), [], 1),
    (err: unknown) => err instanceof ApplicationFailure && err.type === 'InvalidConfig' && err.nonRetryable,
  );
});
