// Content-addressed cache on disk: every paid model or tool answer is kept under the hash of its
// request, so a retried or resumed activity finds it again instead of paying twice.
import { randomBytes } from 'node:crypto';
import { sha256 as sha256Hex } from '../artifacts/store';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

// Callback fs, promisified: the work stays on the thread pool, and the worker's one thread pays
// about a third of what an fs.promises call (with its FileHandle) costs it. See createContentCache.
const writeFile = promisify(fs.writeFile);
const rename = promisify(fs.rename);
const mkdir = promisify(fs.mkdir);
const rm = promisify(fs.rm);

export interface CacheStats {
  hits: number;
  misses: number;
  writes: number;
  /** Entries found unreadable (half written by a crash, edited by hand) and removed. */
  corrupt: number;
}

export interface Memoized<T> {
  value: T;
  /** True when nothing ran for this caller: read from disk, or joined another caller's call in flight. */
  cached: boolean;
}

export interface ContentCache {
  readonly dir: string;
  readonly stats: CacheStats;
  /** sha256 (hex) of the canonical JSON of `obj`: equal requests give equal keys whatever their key order. */
  keyOf(obj: unknown): string;
  get<T>(key: string): Promise<T | undefined>;
  put<T>(key: string, value: T): Promise<void>;
  /** The cached value, or runs `fn` and stores its result; one call in flight per key in this process. Failures are not stored. */
  memo<T>(key: string, fn: () => Promise<T>): Promise<Memoized<T>>;
}

/** What a file on disk holds: the key is repeated so a misplaced or mixed-up file reads as a miss. */
interface Entry<T> {
  key: string;
  storedAt: string;
  value: T;
}

// Keys become file names, so only plain path-safe tokens are accepted.
const KEY_PATTERN = /^[A-Za-z0-9_-]{3,200}$/;

/** JSON with object keys sorted at every depth; same dropping rules as JSON.stringify. */
export function canonicalJson(value: unknown): string {
  const out = JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v as Record<string, unknown>).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
  // JSON.stringify(undefined) is undefined; give it a stable text so keyOf never hashes "undefined".
  return out ?? 'null';
}

// Every episode's calls share the worker's one thread, which at low latency is the bottleneck
// (`npm run bench`, README "Speed"): a lookup is a synchronous existsSync (a miss, the usual case,
// costs a few microseconds and throws nothing) and a read only on a hit; writes use callback fs.
export function createContentCache(dir: string): ContentCache {
  const root = path.resolve(dir);
  const stats: CacheStats = { hits: 0, misses: 0, writes: 0, corrupt: 0 };
  const inFlight = new Map<string, Promise<unknown>>();

  function entryPath(key: string): string {
    if (!KEY_PATTERN.test(key)) throw new TypeError(`invalid cache key ${JSON.stringify(key)}`);
    return path.join(root, key.slice(0, 2), `${key}.json`);
  }

  async function get<T>(key: string): Promise<T | undefined> {
    const file = entryPath(key);
    let text: string | undefined;
    // existsSync first: a miss (the usual case) then costs no thrown error.
    if (fs.existsSync(file)) {
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (err) {
        // Removed between the two calls (a concurrent writer's rename replaces, never removes, so rare).
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    if (text === undefined) {
      stats.misses++;
      return undefined;
    }
    let entry: Entry<T> | undefined;
    try {
      const parsed = JSON.parse(text) as Entry<T>;
      if (parsed && typeof parsed === 'object' && parsed.key === key && 'value' in parsed) entry = parsed;
    } catch {
      entry = undefined;
    }
    if (!entry) {
      // Unreadable: remove it so the next put writes a good one; a concurrent rename may already have replaced it.
      stats.corrupt++;
      stats.misses++;
      fs.rmSync(file, { force: true });
      return undefined;
    }
    stats.hits++;
    return entry.value;
  }

  // Shard folders already made by this process: one mkdir each, not one per entry.
  const made = new Set<string>();
  // Temp names: unique per process (a random token, for processes of other machines sharing the
  // folder) and per write (a counter), without drawing random bytes for each.
  const writer = `${process.pid}.${randomBytes(6).toString('hex')}`;
  let writes = 0;

  async function put<T>(key: string, value: T): Promise<void> {
    if (value === undefined) throw new TypeError('cannot cache undefined');
    const file = entryPath(key);
    const shard = path.dirname(file);
    if (!made.has(shard)) {
      await mkdir(shard, { recursive: true });
      made.add(shard);
    }
    const entry: Entry<T> = { key, storedAt: new Date().toISOString(), value };
    // The temp name never ends in "<key>.json", so a crash before the rename leaves nothing get() reads.
    // No fsync: a killed worker loses nothing (the kernel holds the write), and after a power loss an
    // entry can only be missing or unreadable, which get() treats as a miss (that call is paid once more).
    // Two fsyncs per answer were most of an episode's orchestration time.
    const tmp = path.join(shard, `.${key}.${writer}.${++writes}.tmp`);
    try {
      await writeFile(tmp, JSON.stringify(entry));
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      // The folder may have been removed under us; make it again next time.
      made.delete(shard);
      throw err;
    }
    stats.writes++;
  }

  async function memo<T>(key: string, fn: () => Promise<T>): Promise<Memoized<T>> {
    const running = inFlight.get(key) as Promise<T> | undefined;
    if (running) return { value: await running, cached: true };
    const hit = await get<T>(key);
    if (hit !== undefined) return { value: hit, cached: true };
    // Checked again: another caller may have started while this one read the disk.
    const started = inFlight.get(key) as Promise<T> | undefined;
    if (started) return { value: await started, cached: true };
    const work = (async () => {
      const value = await fn();
      await put(key, value);
      return value;
    })();
    inFlight.set(key, work);
    try {
      return { value: await work, cached: false };
    } finally {
      inFlight.delete(key);
    }
  }

  return { dir: root, stats, keyOf: (obj) => sha256Hex(canonicalJson(obj)), get, put, memo };
}
