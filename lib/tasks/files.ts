// Reading task data files with typed failures: a missing file or split is MissingData (no retry can
// fix it), a file of the wrong shape is BadDatasetRecord; both name the file and the data directory.
import { createReadStream, promises as fs } from 'fs';
import * as path from 'path';
import { ErrorType, typedFailure, type TypedFailure } from '../../core/errors';
import type { TaskName } from '../../core/config';
import { CsvSyntaxError, parseCsv } from './csv';

const NOT_THERE = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM']);

function missingData(message: string): TypedFailure {
  return typedFailure({ type: ErrorType.MissingData, message, nonRetryable: true });
}

export function badData(file: string, problem: string): TypedFailure {
  return typedFailure({
    type: ErrorType.BadDatasetRecord,
    message: `${file}: ${problem}`,
    nonRetryable: true,
  });
}

/** MissingData for a split the task does not have, naming the ones it has. */
export function unknownSplit(task: TaskName, split: string, allowed: readonly string[]): TypedFailure {
  return missingData(`task ${task} has no split "${split}"; its splits are: ${allowed.join(', ')}`);
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/**
 * A data file that is not bundled with the FireAct data: what it is, where it comes from and the shape
 * the loader reads, so a missing one is named with where to put it.
 */
export interface ExternalDataFile {
  /** e.g. "HotpotQA's official training set". */
  what: string;
  /** Where to get it. */
  source: string;
  /** The shape the loader expects. */
  shape: string;
}

function missingFile(dataDir: string, file: string, err: unknown, external?: ExternalDataFile): TypedFailure {
  let message = `data file ${file} cannot be read (${errorCode(err)}); dataDir is ${path.resolve(dataDir)}`;
  if (external) {
    message += `. It is ${external.what}, from ${external.source}, and is not bundled with the FireAct data: put it at ${file}. Expected: ${external.shape}`;
  }
  return missingData(message);
}

/** The text of `<dataDir>/<rel>`; MissingData naming the file and the data directory if it cannot be read. */
async function readDataFile(dataDir: string, rel: string, external?: ExternalDataFile): Promise<string> {
  const file = path.resolve(dataDir, rel);
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if (NOT_THERE.has(errorCode(err) ?? '')) throw missingFile(dataDir, file, err, external);
    throw err;
  }
}

/** File names in `<dataDir>/<rel>` (sorted, for a stable order) that pass `keep`; MissingData if none. */
export async function listDataFiles(dataDir: string, rel: string, keep: (name: string) => boolean): Promise<string[]> {
  const dir = path.resolve(dataDir, rel);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if (NOT_THERE.has(errorCode(err) ?? '')) {
      throw missingData(`data folder ${dir} cannot be read (${errorCode(err)}); dataDir is ${path.resolve(dataDir)}`);
    }
    throw err;
  }
  const kept = names.filter(keep).sort();
  if (kept.length === 0) {
    throw missingData(`data folder ${dir} holds no matching data files; dataDir is ${path.resolve(dataDir)}`);
  }
  return kept;
}

/** A JSON data file that must hold an array of objects. */
export async function readJsonArray(dataDir: string, rel: string, external?: ExternalDataFile): Promise<Record<string, unknown>[]> {
  const text = await readDataFile(dataDir, rel, external);
  const file = path.resolve(dataDir, rel);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw badData(file, `not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(parsed)) throw badData(file, 'expected a JSON array');
  parsed.forEach((row, i) => {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) throw badData(file, `row ${i} is not an object`);
  });
  return parsed as Record<string, unknown>[];
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA_BYTE = 0x2c;
const isJsonSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/**
 * A JSON array of objects read as a stream, each row parsed alone and passed through `project`, so only
 * what `project` keeps stays in memory. For files past what one string can hold: HotpotQA's training
 * set is about 540 MB, over V8's string limit (~512 MB), so readJsonArray cannot read it.
 */
export async function readJsonArrayRows<T>(
  dataDir: string,
  rel: string,
  project: (row: Record<string, unknown>, index: number) => T,
  external?: ExternalDataFile,
): Promise<T[]> {
  const file = path.resolve(dataDir, rel);
  await fs.access(file, fs.constants.R_OK).catch((err: unknown) => {
    throw NOT_THERE.has(errorCode(err) ?? '') ? missingFile(dataDir, file, err, external) : err;
  });
  const out: T[] = [];
  let started = false; // the opening bracket was seen
  let ended = false; // the closing bracket was seen
  let depth = 0; // inside the top-level array: 1 between rows
  let inString = false;
  let escaped = false;
  let parts: Buffer[] = []; // the current row's bytes from earlier chunks
  let rowStart = -1;
  let first = true;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    let i = 0;
    if (first && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) i = 3; // byte-order mark
    first = false;
    for (; i < chunk.length; i += 1) {
      const b = chunk[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (b === BACKSLASH) escaped = true;
        else if (b === QUOTE) inString = false;
        continue;
      }
      if (ended) {
        if (!isJsonSpace(b)) throw badData(file, 'not valid JSON (text after the closing bracket)');
        continue;
      }
      if (!started) {
        if (isJsonSpace(b)) continue;
        if (b !== OPEN_BRACKET) throw badData(file, 'expected a JSON array');
        started = true;
        depth = 1;
        continue;
      }
      if (depth === 1) {
        if (isJsonSpace(b) || b === COMMA_BYTE) continue;
        if (b === CLOSE_BRACKET) {
          ended = true;
          continue;
        }
        if (b !== OPEN_BRACE) throw badData(file, `row ${out.length} is not an object`);
        rowStart = i;
        depth = 2;
        continue;
      }
      if (b === QUOTE) inString = true;
      else if (b === OPEN_BRACE || b === OPEN_BRACKET) depth += 1;
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        depth -= 1;
        if (depth === 1) {
          const bytes = Buffer.concat([...parts, chunk.subarray(rowStart, i + 1)]);
          parts = [];
          rowStart = -1;
          let row: unknown;
          try {
            row = JSON.parse(bytes.toString('utf8'));
          } catch (err) {
            throw badData(file, `row ${out.length}: not valid JSON (${(err as Error).message})`);
          }
          out.push(project(row as Record<string, unknown>, out.length));
        }
      }
    }
    if (rowStart >= 0) {
      parts.push(chunk.subarray(rowStart));
      rowStart = 0;
    }
  }
  if (!ended) throw badData(file, started ? 'not valid JSON (the array is not closed)' : 'expected a JSON array');
  return out;
}

/** A CSV data file as records; BadDatasetRecord on a syntax error. */
export async function readCsv(dataDir: string, rel: string): Promise<string[][]> {
  const text = await readDataFile(dataDir, rel);
  try {
    return parseCsv(text);
  } catch (err) {
    if (err instanceof CsvSyntaxError) throw badData(path.resolve(dataDir, rel), err.message);
    throw err;
  }
}

/** A string field of a JSON row, or BadDatasetRecord naming the file, row and field. */
export function stringField(row: Record<string, unknown>, key: string, file: string, index: number): string {
  const v = row[key];
  if (typeof v !== 'string') throw badData(file, `row ${index}: field "${key}" is not a string`);
  return v;
}
