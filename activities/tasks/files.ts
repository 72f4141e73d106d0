// Reading task data files with typed failures: a missing file or split is MissingData (no retry can
// fix it), a file of the wrong shape is BadDatasetRecord; both name the file and the data directory.
import { promises as fs } from 'fs';
import * as path from 'path';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../core/errors';
import type { TaskName } from '../../core/config';
import { CsvSyntaxError, parseCsv } from './csv';

const NOT_THERE = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM']);

function missingData(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: ErrorType.MissingData, message, nonRetryable: true });
}

export function badData(file: string, problem: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: ErrorType.BadDatasetRecord,
    message: `${file}: ${problem}`,
    nonRetryable: true,
  });
}

/** MissingData for a split the task does not have, naming the ones it has. */
export function unknownSplit(task: TaskName, split: string, allowed: readonly string[]): ApplicationFailure {
  return missingData(`task ${task} has no split "${split}"; its splits are: ${allowed.join(', ')}`);
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/** The text of `<dataDir>/<rel>`; MissingData naming the file and the data directory if it cannot be read. */
export async function readDataFile(dataDir: string, rel: string): Promise<string> {
  const file = path.resolve(dataDir, rel);
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if (NOT_THERE.has(errorCode(err) ?? '')) {
      throw missingData(`data file ${file} cannot be read (${errorCode(err)}); dataDir is ${path.resolve(dataDir)}`);
    }
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
export async function readJsonArray(dataDir: string, rel: string): Promise<Record<string, unknown>[]> {
  const text = await readDataFile(dataDir, rel);
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
