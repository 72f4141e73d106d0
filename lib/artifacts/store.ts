// Local-folder artifact store: atomic writes (temp file + fsync + rename), sha256 on every write,
// so a reader never sees a half-written file as complete.
import { createHash, randomBytes } from 'node:crypto';
import fsCallbacks, { createReadStream, existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ArtifactRef } from '../../core/artifacts';
import { ErrorType, typedFailure, type TypedFailure } from '../../core/errors';

export interface ArtifactStore {
  readonly root: string;
  /** Absolute path of a relative artifact path (rejects paths escaping the root). */
  resolve(rel: string): string;
  writeText(rel: string, text: string, count?: number): Promise<ArtifactRef>;
  writeJson(rel: string, value: unknown): Promise<ArtifactRef>;
  writeJsonl(rel: string, rows: readonly unknown[]): Promise<ArtifactRef>;
  readText(rel: string): Promise<string>;
  readJson<T>(rel: string): Promise<T>;
  readJsonl<T>(rel: string): Promise<T[]>;
  /** Writes an artifact piece by piece (memory bounded by the pieces): atomic as writeText, once closed. */
  openWriter(rel: string): Promise<ArtifactWriter>;
  /** The rows of a JSONL reference one at a time (memory bounded by a row); its sha256 is checked at the end. */
  jsonlRows<T>(ref: ArtifactRef): AsyncGenerator<T>;
  /** Reads and checks the content hash of a reference. */
  readRef(ref: ArtifactRef): Promise<string>;
  exists(rel: string): Promise<boolean>;
  list(relDir: string): Promise<string[]>;
}

export interface ArtifactWriter {
  write(text: string): Promise<void>;
  /** Flushes, syncs and renames into place; `count` is the reference's row count. */
  close(count: number): Promise<ArtifactRef>;
  /** Drops what was written; nothing appears at the path. */
  abort(): Promise<void>;
}

// writeText runs once per episode on the worker's one thread: callback fs costs that thread about a
// third of what fs.promises (a FileHandle and a promise per step) does; see README "Speed".
const mkdir = promisify(fsCallbacks.mkdir);
const writeFile = promisify(fsCallbacks.writeFile);
const rename = promisify(fsCallbacks.rename);

/** Bytes buffered before a write to the file. */
const WRITE_CHUNK = 1 << 20;

export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Errno codes for a path the file system refuses as such: retrying asks for the same path. ENOTDIR
 * is not one: prepare refuses an artifactDir under a file, so during a run it means a folder was
 * replaced by a file (or moved) under the writer, which putting it back heals; the write is retried
 * and, if it never heals, the stage shows as blocked.
 */
const REFUSED_PATH_CODES = new Set(['ENAMETOOLONG', 'EISDIR', 'ELOOP']);

/** A non-retryable PathRefused failure when `err` is the file system refusing the path itself, else undefined. */
function pathRefused(err: unknown, what: string): TypedFailure | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (!code || !REFUSED_PATH_CODES.has(code)) return undefined;
  return typedFailure({
    type: ErrorType.PathRefused,
    nonRetryable: true,
    message: `${what}: the file system refuses the path (${code}${code === 'ENAMETOOLONG' ? ': a file or folder name is too long; use a shorter experiment id or artifactDir' : ''}): ${(err as Error).message}`,
  });
}

function writeFailure(err: unknown, abs: string): TypedFailure {
  const refused = pathRefused(err, `cannot write artifact ${abs}`);
  if (refused) return refused;
  return typedFailure({
    type: ErrorType.ArtifactWriteFailed,
    message: `cannot write artifact ${abs}: ${(err as Error).message}`,
    cause: err as Error,
  });
}

function changedArtifact(ref: ArtifactRef, actual: string): TypedFailure {
  return typedFailure({
    type: ErrorType.ArtifactCorrupt,
    message: `artifact ${ref.path} changed since it was written (sha256 ${actual.slice(0, 12)}…, expected ${ref.sha256.slice(0, 12)}…)`,
    nonRetryable: true,
  });
}

export function createArtifactStore(root: string): ArtifactStore {
  const absRoot = path.resolve(root);

  function resolve(rel: string): string {
    const abs = path.resolve(absRoot, rel);
    if (abs !== absRoot && !abs.startsWith(absRoot + path.sep)) {
      throw typedFailure({ type: ErrorType.InvalidConfig, message: `artifact path escapes the store: ${rel}`, nonRetryable: true });
    }
    return abs;
  }

  async function writeText(rel: string, text: string, count = 1): Promise<ArtifactRef> {
    const abs = resolve(rel);
    const tmp = `${abs}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await mkdir(path.dirname(abs), { recursive: true });
      // flush: fsync before the file is closed, so the rename never publishes unsynced bytes.
      await writeFile(tmp, text, { encoding: 'utf8', flush: true });
      await rename(tmp, abs);
    } catch (err) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw writeFailure(err, abs);
    }
    return { path: rel.split(path.sep).join('/'), count, sha256: sha256(text), bytes: Buffer.byteLength(text) };
  }

  async function openWriter(rel: string): Promise<ArtifactWriter> {
    const abs = resolve(rel);
    const tmp = `${abs}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    let fh: fs.FileHandle;
    try {
      await fs.mkdir(path.dirname(abs), { recursive: true });
      fh = await fs.open(tmp, 'w');
    } catch (err) {
      throw writeFailure(err, abs);
    }
    const hash = createHash('sha256');
    let pending: string[] = [];
    let pendingBytes = 0;
    let bytes = 0;
    const flush = async () => {
      if (!pending.length) return;
      const text = pending.join('');
      pending = [];
      pendingBytes = 0;
      await fh.write(text, null, 'utf8');
    };
    const fail = async (err: unknown) => {
      await fh.close().catch(() => undefined);
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      return writeFailure(err, abs);
    };
    return {
      async write(text) {
        const n = Buffer.byteLength(text);
        hash.update(text, 'utf8');
        bytes += n;
        pending.push(text);
        pendingBytes += n;
        if (pendingBytes >= WRITE_CHUNK) {
          try {
            await flush();
          } catch (err) {
            throw await fail(err);
          }
        }
      },
      async close(count) {
        try {
          await flush();
          await fh.sync();
          await fh.close();
          await fs.rename(tmp, abs);
        } catch (err) {
          throw await fail(err);
        }
        return { path: rel.split(path.sep).join('/'), count, sha256: hash.digest('hex'), bytes };
      },
      async abort() {
        await fh.close().catch(() => undefined);
        await fs.rm(tmp, { force: true }).catch(() => undefined);
      },
    };
  }

  async function* jsonlRows<T>(ref: ArtifactRef): AsyncGenerator<T> {
    const abs = resolve(ref.path);
    const hash = createHash('sha256');
    let rest = '';
    try {
      // Hashed as read; a changed file fails at its end, before the caller closes what it wrote from it.
      const stream = createReadStream(abs, { encoding: 'utf8', highWaterMark: WRITE_CHUNK });
      for await (const chunk of stream as AsyncIterable<string>) {
        hash.update(chunk, 'utf8');
        const lines = (rest + chunk).split('\n');
        rest = lines.pop()!;
        for (const line of lines) if (line.length > 0) yield JSON.parse(line) as T;
      }
    } catch (err) {
      throw pathRefused(err, `cannot read artifact ${abs}`) ?? err;
    }
    if (rest.length > 0) yield JSON.parse(rest) as T;
    const actual = hash.digest('hex');
    if (actual !== ref.sha256) throw changedArtifact(ref, actual);
  }

  async function readText(rel: string): Promise<string> {
    const abs = resolve(rel);
    try {
      return await fs.readFile(abs, 'utf8');
    } catch (err) {
      throw pathRefused(err, `cannot read artifact ${abs}`) ?? err;
    }
  }

  return {
    root: absRoot,
    resolve,
    writeText,
    writeJson: (rel, value) => writeText(rel, JSON.stringify(value, null, 2) + '\n', Array.isArray(value) ? value.length : 1),
    writeJsonl: (rel, rows) => writeText(rel, rows.map((r) => JSON.stringify(r) + '\n').join(''), rows.length),
    readText,
    readJson: async <T>(rel: string) => JSON.parse(await readText(rel)) as T,
    readJsonl: async <T>(rel: string) =>
      (await readText(rel))
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as T),
    async readRef(ref) {
      const text = await readText(ref.path);
      const actual = sha256(text);
      if (actual !== ref.sha256) throw changedArtifact(ref, actual);
      return text;
    },
    openWriter,
    jsonlRows,
    // A stat on the calling thread: cheaper than a thread-pool round trip, and a miss throws nothing.
    async exists(rel) {
      try {
        return existsSync(resolve(rel));
      } catch {
        return false;
      }
    },
    async list(relDir) {
      try {
        const names = await fs.readdir(resolve(relDir));
        return names.filter((n) => !n.includes('.tmp-')).sort();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
    },
  };
}
