// Local-folder artifact store: atomic writes (temp file + fsync + rename), sha256 on every write,
// so a reader never sees a half-written file as complete.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
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
  /** Reads and checks the content hash of a reference. */
  readRef(ref: ArtifactRef): Promise<string>;
  exists(rel: string): Promise<boolean>;
  list(relDir: string): Promise<string[]>;
}

export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Errno codes for a path the file system refuses as such: retrying asks for the same path. */
const REFUSED_PATH_CODES = new Set(['ENAMETOOLONG', 'ENOTDIR', 'EISDIR', 'ELOOP']);

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
      await fs.mkdir(path.dirname(abs), { recursive: true });
      const fh = await fs.open(tmp, 'w');
      try {
        await fh.writeFile(text, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.rename(tmp, abs);
    } catch (err) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      const refused = pathRefused(err, `cannot write artifact ${abs}`);
      if (refused) throw refused;
      throw typedFailure({
        type: ErrorType.ArtifactWriteFailed,
        message: `cannot write artifact ${abs}: ${(err as Error).message}`,
        cause: err as Error,
      });
    }
    return { path: rel.split(path.sep).join('/'), count, sha256: sha256(text), bytes: Buffer.byteLength(text) };
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
      if (actual !== ref.sha256) {
        throw typedFailure({
          type: ErrorType.ArtifactCorrupt,
          message: `artifact ${ref.path} changed since it was written (sha256 ${actual.slice(0, 12)}…, expected ${ref.sha256.slice(0, 12)}…)`,
          nonRetryable: true,
        });
      }
      return text;
    },
    async exists(rel) {
      try {
        await fs.access(resolve(rel));
        return true;
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
