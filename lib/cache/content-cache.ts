// Content-addressed cache on disk: every paid model or tool answer is kept under the hash of its
// request, so a retried or resumed activity finds it again instead of paying twice.
import { randomBytes } from 'node:crypto';
import { sha256 as sha256Hex } from '../artifacts/store';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

// Callback fs, promisified: the work stays on the thread pool, and the worker's one thread pays
// about a third of what an fs.promises call (with its FileHandle) costs it.
const mkdir = promisify(fs.mkdir);
const open = promisify(fs.open);
const read = (fd: number, buf: Buffer, off: number, len: number, pos: number) =>
  new Promise<number>((resolve, reject) => fs.read(fd, buf, off, len, pos, (err, n) => (err ? reject(err) : resolve(n))));
const write = (fd: number, buf: Buffer, off: number, len: number) =>
  new Promise<number>((resolve, reject) => fs.write(fd, buf, off, len, null, (err, n) => (err ? reject(err) : resolve(n))));

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
  /**
   * Takes in every entry other processes stored before this call. Episodes and activities call it
   * when they start, so what an earlier activity stored on another worker (a batch round's answers,
   * a killed attempt's replies) is found at once, not only after the refresh interval.
   */
  sync(): Promise<void>;
  /** Every key stored in the folder, by any process, sorted (for inspection and tests). */
  list(): Promise<string[]>;
}

/** What an entry file of an earlier release holds: the key is repeated so a misplaced file reads as a miss. */
interface Entry<T> {
  key: string;
  storedAt: string;
  value: T;
}

// Keys begin log lines and named the files of earlier releases: only plain path-safe tokens.
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

// Why a log and not a file per entry: creating a file costs the kernel an inode, and at
// near-zero latency the three or four a ReAct episode paid for were a fifth of its orchestration
// CPU (`npm run bench`, README "Speed"). Each process appends its entries to its own file, so no two
// writers ever share one; a line is "<key>\t<json>\n", and JSON.stringify never emits a raw newline
// or tab, so a line delimits itself and a crash can only leave an unterminated last line, which no
// reader takes. Entries of earlier releases (one file each, <k[0..2]>/<k>.json) are still read.
const LOG_DIR = 'log';
const LOG_SUFFIX = '.log';
const NEWLINE = 0x0a;
const TAB = 0x09;
const SCAN_CHUNK = 1 << 20;

/** A folder modified this recently may change again within the same mtime tick (ms). */
const RACY_MTIME_MS = 2_000;

/** How soon another process's new entries are seen here, by default (ms). */
export const CACHE_REFRESH_MS = 250;

export interface ContentCacheOptions {
  /**
   * A lookup that misses looks for other processes' new entries at most this often. A retry lands on
   * another worker only after a timeout or a backoff of a second or more, so it always sees them.
   */
  refreshMs?: number;
}

/** Where an entry's line is: which log, the byte offset and length (without its newline). */
interface Location {
  log: string;
  offset: number;
  length: number;
}

/** How far a log has been read (up to its last complete line). */
interface LogState {
  scanned: number;
}

/** A folder's modification time (ms), or -1 when it does not exist. */
function mtimeOf(dir: string): number {
  try {
    return fs.statSync(dir).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return -1;
    throw err;
  }
}

/** Whether `root` holds shard folders of the one-file-per-entry layout of earlier releases. */
function hasLegacyShards(root: string): boolean {
  try {
    return fs.readdirSync(root, { withFileTypes: true }).some((e) => e.isDirectory() && e.name.length === 2);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

export function createContentCache(dir: string, options: ContentCacheOptions = {}): ContentCache {
  const root = path.resolve(dir);
  const logDir = path.join(root, LOG_DIR);
  const refreshMs = options.refreshMs ?? CACHE_REFRESH_MS;
  const stats: CacheStats = { hits: 0, misses: 0, writes: 0, corrupt: 0 };
  const inFlight = new Map<string, Promise<unknown>>();
  const index = new Map<string, Location>();
  const logs = new Map<string, LogState>();

  function checkKey(key: string): void {
    if (!KEY_PATTERN.test(key)) throw new TypeError(`invalid cache key ${JSON.stringify(key)}`);
  }
  const legacyPath = (key: string) => path.join(root, key.slice(0, 2), `${key}.json`);

  // This process's own log: opened on the first put, named so that no other writer (process or
  // cache object, on this machine or another sharing the folder) ever appends to it.
  let ownName = `${process.pid}-${randomBytes(6).toString('hex')}${LOG_SUFFIX}`;
  let own: { fd: number; size: number } | undefined;
  let pending: Array<{ key: string; line: Buffer; done: (err?: unknown) => void }> = [];
  let writing = false;
  let replaceOwn = false;

  // Looking for other writers' entries: the log folder is listed only when it changed (a log was
  // added), each foreign log is read from where the last look stopped. One look at a time.
  let lastRefresh = -Infinity;
  let logDirMtime: number | undefined;
  let rootMtime: number | undefined;
  let legacyShards = false;
  let refreshing: Promise<void> | undefined;

  function refresh(): Promise<void> {
    if (!refreshing) {
      const look = lookForOthers();
      refreshing = look;
      // Cleared after the assignment: a look that finds nothing to read ends before it.
      const clear = () => {
        if (refreshing === look) refreshing = undefined;
      };
      look.then(clear, clear);
    }
    return refreshing;
  }

  // sync() asks for a look that starts after it was called: each call takes a mark, each look
  // records the last mark given out when it started, and `seenMark` is the highest a finished look had.
  let syncMark = 0;
  let seenMark = 0;
  async function sync(): Promise<void> {
    const mark = ++syncMark;
    while (seenMark < mark) await refresh();
  }

  async function lookForOthers(): Promise<void> {
    const mark = syncMark;
    await lookOnce();
    seenMark = Math.max(seenMark, mark);
  }

  async function lookOnce(): Promise<void> {
    const now = Date.now();
    lastRefresh = now;
    // A folder's mtime ticks coarsely (a few ms): a log created in the same tick as the last listing
    // leaves it unchanged. So an mtime this recent is not trusted, and the folder is listed again.
    const settled = (mtime: number) => (now - mtime > RACY_MTIME_MS ? mtime : undefined);
    const rootNow = mtimeOf(root);
    if (rootNow !== rootMtime) {
      rootMtime = settled(rootNow);
      legacyShards = hasLegacyShards(root);
    }
    const mtime = mtimeOf(logDir);
    if (mtime !== logDirMtime) {
      logDirMtime = settled(mtime);
      for (const name of mtime < 0 ? [] : fs.readdirSync(logDir)) {
        if (name.endsWith(LOG_SUFFIX) && name !== ownName && !logs.has(name)) logs.set(name, { scanned: 0 });
      }
    }
    // The folder was removed under this process (a user clearing the cache): later entries go to a
    // new log there, not to a file no one else can see.
    if (own && !fs.existsSync(path.join(logDir, ownName))) replaceOwn = true;
    for (const [name, state] of logs) if (name !== ownName) await scanLog(name, state);
  }

  // Indexes the complete lines added to a foreign log since the last scan.
  async function scanLog(name: string, state: LogState): Promise<void> {
    const file = path.join(logDir, name);
    let fd: number;
    let size: number;
    try {
      // A stat by name first: most looks find most logs unchanged (finished writers).
      size = fs.statSync(file).size;
      if (size === state.scanned) return;
      // Shorter than what was read: replaced by hand; read it again from the start.
      if (size < state.scanned) state.scanned = 0;
      fd = await open(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return void logs.delete(name);
      throw err;
    }
    try {
      let carry = Buffer.alloc(0);
      let carryAt = state.scanned;
      for (let at = state.scanned; at < size; ) {
        const chunk = Buffer.allocUnsafe(Math.min(SCAN_CHUNK, size - at));
        const n = await read(fd, chunk, 0, chunk.length, at);
        if (n === 0) break;
        at += n;
        const data = carry.length ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
        let lineStart = 0;
        for (let nl = data.indexOf(NEWLINE); nl >= 0; nl = data.indexOf(NEWLINE, lineStart)) {
          const tab = data.indexOf(TAB, lineStart);
          if (tab > lineStart && tab < nl) {
            const key = data.toString('latin1', lineStart, tab);
            // The last copy read wins: two processes that paid the same call stored equal answers,
            // and a copy written after a damaged one replaced it.
            if (KEY_PATTERN.test(key)) index.set(key, { log: name, offset: carryAt + lineStart, length: nl - lineStart });
          }
          lineStart = nl + 1;
        }
        carry = Buffer.from(data.subarray(lineStart));
        carryAt += lineStart;
      }
      // An unterminated tail (a writer mid-line, or killed there) is read again next time.
      state.scanned = carryAt;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The value at `loc`, or undefined when the line there is not a whole entry of `key`. */
  function readAt<T>(key: string, loc: Location): { value: T } | undefined {
    const bytes = Buffer.allocUnsafe(loc.length);
    let n = 0;
    try {
      const fd = fs.openSync(path.join(logDir, loc.log), 'r');
      try {
        n = fs.readSync(fd, bytes, 0, loc.length, loc.offset);
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // This process's own log removed (the folder cleared by hand): write the next entries anew.
      if (loc.log === ownName) replaceOwn = true;
      return undefined;
    }
    const prefix = key.length + 1;
    if (n !== loc.length || bytes.toString('latin1', 0, key.length) !== key || bytes[key.length] !== TAB) return undefined;
    try {
      const parsed = JSON.parse(bytes.toString('utf8', prefix)) as { value?: T };
      return parsed && typeof parsed === 'object' && 'value' in parsed ? { value: parsed.value as T } : undefined;
    } catch {
      return undefined;
    }
  }

  /** An entry an earlier release wrote as its own file; unreadable ones are removed. */
  function readLegacy<T>(key: string): { value: T } | undefined {
    const file = legacyPath(key);
    let text: string | undefined;
    // existsSync first: a miss then costs no thrown error.
    if (fs.existsSync(file)) {
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    if (text === undefined) return undefined;
    try {
      const parsed = JSON.parse(text) as Entry<T>;
      if (parsed && typeof parsed === 'object' && parsed.key === key && 'value' in parsed) return { value: parsed.value };
    } catch {
      // unreadable: below
    }
    stats.corrupt++;
    fs.rmSync(file, { force: true });
    return undefined;
  }

  async function get<T>(key: string): Promise<T | undefined> {
    checkKey(key);
    if (!index.has(key) && Date.now() - lastRefresh >= refreshMs) await refresh();
    const loc = index.get(key);
    if (loc) {
      const found = readAt<T>(key, loc);
      if (found) {
        stats.hits++;
        return found.value;
      }
      // Damaged (edited by hand, or cut short by a power loss): a miss, and the next put replaces it.
      stats.corrupt++;
      index.delete(key);
    }
    const legacy = legacyShards ? readLegacy<T>(key) : undefined;
    if (legacy) {
      stats.hits++;
      return legacy.value;
    }
    stats.misses++;
    return undefined;
  }

  function startNewLog(): void {
    if (own) fs.closeSync(own.fd);
    own = undefined;
    ownName = `${process.pid}-${randomBytes(6).toString('hex')}${LOG_SUFFIX}`;
  }

  // Every entry put while a write is under way goes out in the next single append.
  async function drain(): Promise<void> {
    writing = true;
    try {
      while (pending.length) {
        const batch = pending;
        pending = [];
        try {
          if (replaceOwn) {
            replaceOwn = false;
            startNewLog();
          }
          if (!own) {
            await mkdir(logDir, { recursive: true });
            const fd = await open(path.join(logDir, ownName), 'a');
            own = { fd, size: fs.fstatSync(fd).size };
            logs.set(ownName, { scanned: 0 });
          }
          const log = own;
          const data = batch.length === 1 ? batch[0].line : Buffer.concat(batch.map((b) => b.line));
          for (let off = 0; off < data.length; ) off += await write(log.fd, data, off, data.length - off);
          // No fsync: a killed worker loses nothing (the kernel holds the write), and after a power
          // loss an entry can only be missing or cut short, which get() takes as a miss (that call is
          // paid once more). Syncing every answer was most of an episode's orchestration time.
          let at = log.size;
          for (const b of batch) {
            index.set(b.key, { log: ownName, offset: at, length: b.line.length - 1 });
            at += b.line.length;
          }
          log.size = at;
          stats.writes += batch.length;
          for (const b of batch) b.done();
        } catch (err) {
          // A write that failed part way may have left half a line: later entries go to a new log.
          startNewLog();
          for (const b of batch) b.done(err);
        }
      }
    } finally {
      writing = false;
    }
  }

  async function put<T>(key: string, value: T): Promise<void> {
    checkKey(key);
    if (value === undefined) throw new TypeError('cannot cache undefined');
    const line = Buffer.from(`${key}\t${JSON.stringify({ storedAt: new Date().toISOString(), value })}\n`, 'utf8');
    await new Promise<void>((resolve, reject) => {
      pending.push({ key, line, done: (err) => (err === undefined ? resolve() : reject(err as Error)) });
      if (!writing) void drain();
    });
  }

  async function list(): Promise<string[]> {
    rootMtime = logDirMtime = undefined;
    await refresh();
    const keys = new Set(index.keys());
    if (legacyShards) {
      for (const shard of fs.readdirSync(root)) {
        if (!/^[A-Za-z0-9_-]{2}$/.test(shard)) continue;
        for (const f of fs.readdirSync(path.join(root, shard))) if (f.endsWith('.json') && KEY_PATTERN.test(f.slice(0, -5))) keys.add(f.slice(0, -5));
      }
    }
    return [...keys].sort();
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

  return { dir: root, stats, keyOf: (obj) => sha256Hex(canonicalJson(obj)), get, put, memo, sync, list };
}
