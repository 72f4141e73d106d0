import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, test } from '@jest/globals';
import { withSearchCache } from '../../lib/cache/cached-search';
import { canonicalJson, createContentCache } from '../../lib/cache/content-cache';
import type { SearchBackend } from '../../lib/tools/types';
import { REPO_ROOT } from '../../scripts/support/paths';

// Every temp dir a test made, removed at the end.
const created: Array<Promise<string>> = [];
afterAll(async () => {
  for (const d of created) await fs.rm(await d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = fs.mkdtemp(path.join(os.tmpdir(), 'fireact-cache-'));
  created.push(dir);
  return dir;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
  }
  return out.sort();
}

void test('keyOf ignores key order and tells different requests apart', () => {
  const cache = createContentCache(os.tmpdir());
  const a = cache.keyOf({ model: 'm', messages: [{ role: 'user', content: 'hi' }], temperature: 0 });
  const b = cache.keyOf({ temperature: 0, messages: [{ content: 'hi', role: 'user' }], model: 'm' });
  assert.equal(a, b);
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.notEqual(a, cache.keyOf({ model: 'm', messages: [{ role: 'user', content: 'hi' }], temperature: 0.5 }));
  // Array order is meaning, not noise.
  assert.notEqual(cache.keyOf({ stop: ['a', 'b'] }), cache.keyOf({ stop: ['b', 'a'] }));
  assert.equal(canonicalJson({ b: { d: 1, c: [2, { f: 1, e: 0 }] }, a: null }), '{"a":null,"b":{"c":[2,{"e":0,"f":1}],"d":1}}');
});

void test('put then get, also from a fresh cache object on the same directory, stored at <k[0..2]>/<k>.json', async () => {
  const dir = await tempDir();
  const cache = createContentCache(dir);
  const key = cache.keyOf({ q: 1 });
  assert.equal(await cache.get(key), undefined);
  await cache.put(key, { answer: 'Paris', n: [1, 2] });
  assert.deepEqual(await cache.get(key), { answer: 'Paris', n: [1, 2] });
  assert.deepEqual(await listFiles(dir), [path.join(dir, key.slice(0, 2), `${key}.json`)]);

  const again = createContentCache(dir);
  assert.deepEqual(await again.get(key), { answer: 'Paris', n: [1, 2] });
  assert.deepEqual(again.stats, { hits: 1, misses: 0, writes: 0, corrupt: 0 });
});

void test('a leftover temp file, a truncated entry and a misplaced entry are all misses', async () => {
  const dir = await tempDir();
  const cache = createContentCache(dir);
  const key = cache.keyOf({ q: 'temp' });
  const shard = path.join(dir, key.slice(0, 2));
  await fs.mkdir(shard, { recursive: true });

  // A writer that died before its rename leaves only a temp file.
  await fs.writeFile(path.join(shard, `.${key}.4242.abcdef.tmp`), '{"key":"' + key + '","value":{"half"');
  assert.equal(await cache.get(key), undefined);

  // A half entry at the real name (written by something non-atomic) is removed and missed.
  const entry = path.join(shard, `${key}.json`);
  await fs.writeFile(entry, '{"key":"' + key + '","storedAt":"x","value":{"ans');
  assert.equal(await cache.get(key), undefined);
  assert.equal(cache.stats.corrupt, 1);
  await assert.rejects(fs.stat(entry), { code: 'ENOENT' });

  // Valid JSON holding another key's answer is not trusted.
  const other = cache.keyOf({ q: 'other' });
  await fs.writeFile(entry, JSON.stringify({ key: other, storedAt: 'x', value: 'wrong' }));
  assert.equal(await cache.get(key), undefined);
  assert.equal(cache.stats.corrupt, 2);

  // And memo fills it properly afterwards.
  let runs = 0;
  const r = await cache.memo(key, async () => {
    runs++;
    return 'fresh';
  });
  assert.deepEqual(r, { value: 'fresh', cached: false });
  assert.equal(runs, 1);
  assert.equal(await createContentCache(dir).get(key), 'fresh');
});

void test('memo runs one call per key even when asked concurrently, and never stores a failure', async () => {
  const dir = await tempDir();
  const cache = createContentCache(dir);
  const key = cache.keyOf({ q: 'dedupe' });
  let runs = 0;
  const fn = async () => {
    runs++;
    await new Promise((r) => setTimeout(r, 50));
    return { text: 'once' };
  };
  const results = await Promise.all([1, 2, 3, 4, 5].map(() => cache.memo(key, fn)));
  assert.equal(runs, 1);
  assert.equal(results.filter((r) => !r.cached).length, 1);
  assert.ok(results.every((r) => r.value.text === 'once'));
  assert.deepEqual(await cache.memo(key, fn), { value: { text: 'once' }, cached: true });
  assert.equal(runs, 1);

  const failKey = cache.keyOf({ q: 'fails' });
  let attempts = 0;
  const failing = async (): Promise<string> => {
    attempts++;
    throw new Error('boom');
  };
  await assert.rejects(cache.memo(failKey, failing), /boom/);
  await assert.rejects(cache.memo(failKey, failing), /boom/);
  assert.equal(attempts, 2);
  assert.equal(await cache.get(failKey), undefined);
});

void test('keys that are not plain tokens are refused (no path tricks)', async () => {
  const cache = createContentCache(await tempDir());
  await assert.rejects(cache.put('../../etc/passwd', 1), /invalid cache key/);
  await assert.rejects(cache.get('a/b'), /invalid cache key/);
  await assert.rejects(cache.put(cache.keyOf(1), undefined), /undefined/);
});

void test('a writer killed mid-write never leaves a readable half entry', async () => {
  const dir = await tempDir();
  const script = path.join(dir, 'writer.ts');
  const modulePath = path.join(REPO_ROOT, 'lib/cache/content-cache.ts');
  await fs.writeFile(
    script,
    `import { createContentCache } from ${JSON.stringify(modulePath)};
const cache = createContentCache(${JSON.stringify(path.join(dir, 'c'))});
const big = 'x'.repeat(2_000_000);
(async () => {
  for (let i = 0; ; i++) {
    await cache.put(cache.keyOf({ i }), { i, big });
    if (i === 2) process.stdout.write('writing\\n');
  }
})();
`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`writer exited early (${code})`)));
  });
  await new Promise((r) => setTimeout(r, 150));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));

  const cache = createContentCache(path.join(dir, 'c'));
  const entries = (await listFiles(path.join(dir, 'c'))).filter((f) => f.endsWith('.json'));
  assert.ok(entries.length >= 3, `expected finished entries, got ${entries.length}`);
  for (const file of entries) {
    const key = path.basename(file, '.json');
    const v = await cache.get<{ i: number; big: string }>(key);
    assert.ok(v, `entry ${key} unreadable`);
    assert.equal(v.big.length, 2_000_000);
    assert.equal(key, cache.keyOf({ i: v.i }));
  }
  assert.equal(cache.stats.corrupt, 0);
});

void test('withSearchCache answers a repeated query from the cache, keyed by scope, backend and query', async () => {
  const dir = await tempDir();
  const calls: string[] = [];
  const backend: SearchBackend = {
    name: 'fake',
    async search(request) {
      calls.push(request.query);
      return { observation: `result for ${request.query}`, backend: 'fake', cached: false };
    },
  };
  const cached = withSearchCache(backend, createContentCache(dir), 'corpus-a');
  assert.equal(cached.name, 'fake');
  assert.deepEqual(await cached.search({ query: 'Paris' }), { observation: 'result for Paris', backend: 'fake', cached: false });
  assert.deepEqual(await cached.search({ query: 'Paris', context: { task: 't', questionText: 'q', method: 'react' } }), {
    observation: 'result for Paris',
    backend: 'fake',
    cached: true,
  });
  assert.deepEqual(calls, ['Paris']);

  // A fresh process (fresh cache object) still finds it; another scope does not share it.
  assert.equal((await withSearchCache(backend, createContentCache(dir), 'corpus-a').search({ query: 'Paris' })).cached, true);
  assert.equal((await withSearchCache(backend, createContentCache(dir), 'corpus-b').search({ query: 'Paris' })).cached, false);
  assert.deepEqual(calls, ['Paris', 'Paris']);

  const failing: SearchBackend = {
    name: 'fake',
    async search() {
      throw new Error('search down');
    },
  };
  await assert.rejects(withSearchCache(failing, createContentCache(dir), 'corpus-a').search({ query: 'Rome' }), /search down/);
  assert.equal((await cached.search({ query: 'Rome' })).cached, false);
});
