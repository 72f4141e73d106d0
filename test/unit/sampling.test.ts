import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ApplicationFailure } from '@temporalio/common';
import { PythonRandom } from '../../lib/tasks/python-random';
import { loadSplit } from '../../lib/tasks/registry';
import { fireactOrder, sampleQuestions, seededOrder, SeededRandom } from '../../lib/tasks/sampling';

import { DATA_DIR as DATA } from '../../scripts/support/paths';

/** Runs Python code with `cases` as JSON on stdin and returns what it prints as JSON. */
function python<T>(code: string, cases: unknown): T {
  const out = execFileSync('python3', ['-c', code], { input: JSON.stringify(cases), maxBuffer: 1 << 28, encoding: 'utf8' });
  return JSON.parse(out) as T;
}

const SHUFFLE_PY = [
  'import json, random, sys',
  'out = []',
  'for seed, size in json.load(sys.stdin):',
  '    idx = list(range(size))',
  '    random.Random(seed).shuffle(idx)',
  '    out.append(idx)',
  'print(json.dumps(out))',
].join('\n');

void test("fireact order equals Python's random.Random(seed).shuffle for many seeds and sizes", () => {
  const cases: [number, number][] = [];
  // Negative seeds, zero, and seeds over 32 bits (several init_by_array words) included.
  for (const seed of [233, 0, 1, 42, -7, 2 ** 32, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER]) {
    for (const size of [0, 1, 2, 3, 229, 7405, 14042]) cases.push([seed, size]);
  }
  const expected = python<number[][]>(SHUFFLE_PY, cases);
  cases.forEach(([seed, size], i) => assert.deepEqual(fireactOrder(size, seed), expected[i], `seed ${seed}, size ${size}`));
});

void test("the generator's raw stream and getrandbits match CPython's", () => {
  const code = [
    'import json, random, sys',
    'seed = json.load(sys.stdin)',
    'r = random.Random(seed)',
    'words = [r.getrandbits(32) for _ in range(1500)]',
    'bits = [r.getrandbits(k) for k in list(range(1, 33)) * 3]',
    'below = [r._randbelow(n) for n in [1, 2, 3, 5, 1000, 7405, 2**31 + 1, 2**32 - 1]]',
    'print(json.dumps([words, bits, below]))',
  ].join('\n');
  for (const seed of [233, 123456789012]) {
    const [words, bits, below] = python<[number[], number[], number[]]>(code, seed);
    const r = new PythonRandom(seed);
    // 1500 words crosses two twists of the 624-word state.
    assert.deepEqual(Array.from({ length: 1500 }, () => r.getrandbits(32)), words);
    const ks = [...Array(32).keys()].map((k) => k + 1);
    assert.deepEqual([...ks, ...ks, ...ks].map((k) => r.getrandbits(k)), bits);
    assert.deepEqual([1, 2, 3, 5, 1000, 7405, 2 ** 31 + 1, 2 ** 32 - 1].map((n) => r.randbelow(n)), below);
  }
});

void test('fireact sampling of HotpotQA dev, seed 233, first 500, picks the questions Python picks', async () => {
  const dev = await loadSplit(DATA, 'hotpotqa', 'dev');
  const [order] = python<number[][]>(SHUFFLE_PY, [[233, dev.length]]);
  const sample = sampleQuestions(dev, { n: 500, order: 'fireact', seed: 233 });
  assert.equal(sample.length, 500);
  assert.deepEqual(
    sample.map((q) => q.id),
    order.slice(0, 500).map(String),
  );
  assert.equal(sample[0], dev[3687]);
});

void test('file order takes the first n; no n takes the whole split', () => {
  const qs = ['a', 'b', 'c', 'd'];
  assert.deepEqual(sampleQuestions(qs, { n: 2, order: 'file', seed: 1 }), ['a', 'b']);
  assert.deepEqual(sampleQuestions(qs, { order: 'file', seed: 1 }), qs);
  assert.deepEqual(sampleQuestions(qs, { n: 4, order: 'file', seed: 1 }), qs);
});

void test('seeded order is a deterministic permutation that depends on the seed', () => {
  const qs = Array.from({ length: 1000 }, (_, i) => `q${i}`);
  const a = sampleQuestions(qs, { order: 'seeded', seed: 233 });
  assert.deepEqual(sampleQuestions(qs, { order: 'seeded', seed: 233 }), a);
  assert.deepEqual([...a].sort(), [...qs].sort());
  assert.notDeepEqual(a, qs);
  assert.notDeepEqual(sampleQuestions(qs, { order: 'seeded', seed: 234 }), a);
  assert.notDeepEqual(sampleQuestions(qs, { order: 'seeded', seed: 233 + 2 ** 32 }), a);
  assert.notDeepEqual(sampleQuestions(qs, { order: 'seeded', seed: -233 }), a);
  assert.deepEqual(sampleQuestions(qs, { n: 10, order: 'seeded', seed: 233 }), a.slice(0, 10));
  // Pinned, so a change to the generator (which would change every frozen sample) is caught.
  assert.deepEqual(seededOrder(12, 233), [7, 4, 6, 3, 8, 5, 10, 2, 0, 11, 1, 9]);
  const r = new SeededRandom(0);
  assert.deepEqual([r.nextUint32(), r.nextUint32(), r.nextUint32()], [1931332172, 4213001632, 383094952]);
});

void test('seeded bounded draws are roughly uniform', () => {
  const r = new SeededRandom(7);
  const counts = [0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 60_000; i += 1) counts[r.below(6)] += 1;
  for (const c of counts) assert.ok(Math.abs(c - 10_000) < 500, `count ${c}`);
});

void test('sampling never reorders its input', () => {
  const qs = [1, 2, 3, 4, 5];
  sampleQuestions(qs, { order: 'fireact', seed: 3 });
  sampleQuestions(qs, { order: 'seeded', seed: 3 });
  assert.deepEqual(qs, [1, 2, 3, 4, 5]);
});

void test('n larger than the split, or not positive, is InvalidConfig', () => {
  const isInvalid = (...mentions: string[]) => (err: unknown) =>
    err instanceof ApplicationFailure &&
    err.type === 'InvalidConfig' &&
    err.nonRetryable === true &&
    mentions.every((m) => err.message.includes(m));
  for (const order of ['file', 'seeded', 'fireact'] as const) {
    assert.throws(() => sampleQuestions([1, 2, 3], { n: 4, order, seed: 1 }), isInvalid('n = 4', 'has 3 questions'));
  }
  assert.throws(() => sampleQuestions([1, 2, 3], { n: 0, order: 'file', seed: 1 }), isInvalid('positive integer'));
  assert.throws(() => sampleQuestions([1, 2, 3], { n: 1.5, order: 'file', seed: 1 }), isInvalid('positive integer'));
  assert.throws(() => sampleQuestions([1, 2, 3], { n: 1, order: 'fireact', seed: 0.5 }), isInvalid('seed'));
});
