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

void test('put then get, also from a fresh cache object on the same directory, all in one log file of this writer', async () => {
  const dir = await tempDir();
  const cache = createContentCache(dir, { refreshMs: 0 });
  const key = cache.keyOf({ q: 1 });
  assert.equal(await cache.get(key), undefined);
  await cache.put(key, { answer: 'Paris', n: [1, 2] });
  await cache.put(cache.keyOf({ q: 2 }), 'Rome');
  assert.deepEqual(await cache.get(key), { answer: 'Paris', n: [1, 2] });
  const files = await listFiles(dir);
  assert.equal(files.length, 1, `one log, no file per entry: ${files.join(', ')}`);
  assert.match(path.relative(dir, files[0]), /^log[/\\]\d+-[0-9a-f]{12}\.log$/);
  const lines = (await fs.readFile(files[0], 'utf8')).split('\n');
  assert.equal(lines.length, 3, 'two lines, each ended by a newline');
  assert.ok(lines[0].startsWith(`${key}\t{`));

  const again = createContentCache(dir);
  assert.deepEqual(await again.get(key), { answer: 'Paris', n: [1, 2] });
  assert.equal(await again.get(cache.keyOf({ q: 2 })), 'Rome');
  assert.deepEqual(again.stats, { hits: 2, misses: 0, writes: 0, corrupt: 0 });
  assert.deepEqual(await again.list(), [key, cache.keyOf({ q: 2 })].sort());
  // The second object writes to its own log, never to the first one's.
  await again.put(again.keyOf({ q: 3 }), 'Oslo');
  assert.equal((await listFiles(dir)).length, 2);
  assert.equal(await cache.get(cache.keyOf({ q: 3 })), 'Oslo');
});

void test('puts made together go out in one append, each entry readable afterwards', async () => {
  const dir = await tempDir();
  const cache = createContentCache(dir);
  const keys = Array.from({ length: 300 }, (_, i) => cache.keyOf({ i }));
  await Promise.all(keys.map((k, i) => cache.put(k, { i, text: `answer ${i}\nwith a newline\tand a tab` })));
  assert.equal(cache.stats.writes, 300);
  const fresh = createContentCache(dir);
  for (const [i, k] of keys.entries()) assert.deepEqual(await fresh.get(k), { i, text: `answer ${i}\nwith a newline\tand a tab` });
  assert.equal((await fs.readFile((await listFiles(dir))[0], 'utf8')).split('\n').length, 301);
});

void test("another process's entries are seen once the refresh interval has passed", async () => {
  const dir = await tempDir();
  const reader = createContentCache(dir, { refreshMs: 200 });
  const writer = createContentCache(dir);
  const key = writer.keyOf({ q: 'later' });
  assert.equal(await reader.get(key), undefined);
  await writer.put(key, 'now stored');
  // Within the interval a miss may stay a miss (that call would be paid again)...
  await new Promise((r) => setTimeout(r, 250));
  // ...after it, the reader looks again and finds it.
  assert.equal(await reader.get(key), 'now stored');
  assert.equal(await createContentCache(dir, { refreshMs: 0 }).get(key), 'now stored');
});

void test('sync takes in what other writers stored before it, whatever the refresh interval', async () => {
  const dir = await tempDir();
  const reader = createContentCache(dir, { refreshMs: 3_600_000 });
  const writers = [createContentCache(dir), createContentCache(dir)];
  const keys = writers.map((w, i) => w.keyOf({ q: 'sync', i }));
  assert.equal(await reader.get(keys[0]), undefined);
  await Promise.all(writers.map((w, i) => w.put(keys[i], `from writer ${i}`)));
  // Misses do not look again within the hour...
  assert.equal(await reader.get(keys[0]), undefined);
  // ...a sync does, and concurrent syncs all see both writers' entries.
  await Promise.all([reader.sync(), reader.sync(), reader.sync()]);
  assert.deepEqual(await Promise.all(keys.map((k) => reader.get(k))), ['from writer 0', 'from writer 1']);
});

void test('a log created in the same mtime tick as the last listing of the folder is still found', async () => {
  const dir = await tempDir();
  const reader = createContentCache(dir, { refreshMs: 3_600_000 });
  const [a, b] = [createContentCache(dir), createContentCache(dir)];
  await a.put(a.keyOf('a'), 'from a');
  // Pin the log folder's mtime to a whole second (read back exactly; the next one, so it stays
  // "recent" however slow this machine), list it, then add b's log and put the same mtime back: the
  // folder looks unchanged, as when both happen within one coarse tick.
  const logDir = path.join(dir, 'log');
  const tick = Math.ceil(Date.now() / 1000);
  await fs.utimes(logDir, tick, tick);
  await reader.sync();
  assert.equal(await reader.get(a.keyOf('a')), 'from a');
  await b.put(b.keyOf('b'), 'from b');
  await fs.utimes(logDir, tick, tick);
  await reader.sync();
  assert.equal(await reader.get(b.keyOf('b')), 'from b');
});

void test('a cache folder removed under a running process: later entries go to a new log, found by others', async () => {
  const dir = await tempDir();
  const cache = createContentCache(dir, { refreshMs: 0 });
  await cache.put(cache.keyOf({ q: 'before' }), 'gone with the folder');
  await fs.rm(dir, { recursive: true });
  assert.equal(await cache.get(cache.keyOf({ q: 'before' })), undefined);
  await cache.put(cache.keyOf({ q: 'after' }), 'kept');
  assert.equal(await createContentCache(dir).get(cache.keyOf({ q: 'after' })), 'kept');
  assert.equal(await cache.get(cache.keyOf({ q: 'after' })), 'kept');
});

void test('an unterminated last line, a damaged line and a misplaced line are all misses', async () => {
  const dir = await tempDir();
  const cache = createContentCache(dir, { refreshMs: 0 });
  const good = cache.keyOf({ q: 'good' });
  const damaged = cache.keyOf({ q: 'damaged' });
  const cut = cache.keyOf({ q: 'cut' });
  const other = cache.keyOf({ q: 'other' });
  await fs.mkdir(path.join(dir, 'log'));
  // A writer killed mid-line leaves an unterminated tail; a line edited by hand no longer parses.
  await fs.writeFile(
    path.join(dir, 'log', '4242-abcdefabcdef.log'),
    `${good}\t${JSON.stringify({ storedAt: 'x', value: 'kept' })}\n` + `${damaged}\t{"storedAt":"x","val\n` + `${cut}\t{"storedAt":"x","value":"ha`,
  );
  assert.equal(await cache.get(good), 'kept');
  assert.equal(await cache.get(cut), undefined);
  assert.equal(await cache.get(damaged), undefined);
  assert.equal(cache.stats.corrupt, 1);
  assert.equal(await cache.get(other), undefined);

  // memo fills the damaged one properly afterwards, and a fresh reader takes the good copy.
  let runs = 0;
  const r = await cache.memo(damaged, async () => {
    runs++;
    return 'fresh';
  });
  assert.deepEqual(r, { value: 'fresh', cached: false });
  assert.equal(runs, 1);
  assert.equal(await cache.get(damaged), 'fresh');
});

void test("an earlier release's entry files (<k[0..2]>/<k>.json) are still read; unreadable or misplaced ones are misses", async () => {
  const dir = await tempDir();
  const keyOf = createContentCache(dir).keyOf;
  const entry = (k: string) => path.join(dir, k.slice(0, 2), `${k}.json`);
  const old = keyOf({ q: 'old' });
  const half = keyOf({ q: 'half' });
  const wrong = keyOf({ q: 'wrong' });
  for (const k of [old, half, wrong]) await fs.mkdir(path.dirname(entry(k)), { recursive: true });
  await fs.writeFile(entry(old), JSON.stringify({ key: old, storedAt: 'x', value: { text: 'from before' } }));
  await fs.writeFile(entry(half), '{"key":"' + half + '","storedAt":"x","value":{"ans');
  // Valid JSON holding another key's answer is not trusted.
  await fs.writeFile(entry(wrong), JSON.stringify({ key: old, storedAt: 'x', value: 'wrong' }));
  // A writer of that release that died before its rename left only a temp file.
  await fs.writeFile(path.join(path.dirname(entry(old)), `.${old}.4242.abcdef.tmp`), '{"key":"');

  const cache = createContentCache(dir);
  assert.deepEqual(await cache.get(old), { text: 'from before' });
  assert.equal(await cache.get(half), undefined);
  assert.equal(await cache.get(wrong), undefined);
  assert.equal(cache.stats.corrupt, 2);
  await assert.rejects(fs.stat(entry(half)), { code: 'ENOENT' });
  assert.deepEqual(await cache.list(), [old].sort());
  // New entries go to the log, next to the old files.
  await cache.put(half, 'now whole');
  assert.equal(await createContentCache(dir).get(half), 'now whole');
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
  const keys = await cache.list();
  assert.ok(keys.length >= 3, `expected finished entries, got ${keys.length}`);
  for (const key of keys) {
    const v = await cache.get<{ i: number; big: string }>(key);
    assert.ok(v, `entry ${key} unreadable`);
    assert.equal(v.big.length, 2_000_000);
    assert.equal(key, cache.keyOf({ i: v.i }));
  }
  assert.equal(cache.stats.corrupt, 0);
  // What the writer was in the middle of is not an entry; a new writer appends to a log of its own.
  const next = cache.keyOf({ i: keys.length + 100 });
  await cache.put(next, { i: -1, big: '' });
  assert.deepEqual(await createContentCache(path.join(dir, 'c')).get(next), { i: -1, big: '' });
  assert.equal((await listFiles(path.join(dir, 'c'))).length, 2);
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
