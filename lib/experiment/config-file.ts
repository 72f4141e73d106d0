// Reading experiment configs from JSON or YAML files. Relative paths written in a file resolve
// against the file's folder; paths left to their defaults resolve against the working directory.
// Either way they come out absolute, so the worker (in whatever folder it runs) reads the same files.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigError, parseExperimentConfig, type ExperimentConfig } from '../../core/config';
import { isHostedFineTune } from '../../core/names';

/** The keys of a workflow input (`temporal workflow start --input-file`) besides `config`. */
const INPUT_KEYS = new Set(['config', 'noSearchAttributes', 'artifactsOf']);

export interface ConfigFile {
  raw: unknown;
  /** True when the file held a workflow input `{"config": …}` and `raw` is its config. */
  workflowInput: boolean;
}

async function readConfigFile(file: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${file}: cannot read config file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`]);
  }
  // Editors on Windows save a byte-order mark; YAML skips it, JSON.parse does not.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let raw: unknown;
  if (file.endsWith('.json')) {
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new ConfigError([`${file}: not valid JSON: ${(err as Error).message}`]);
    }
  } else {
    const doc = YAML.parseDocument(text, { prettyErrors: true });
    // The first line of a pretty YAML error ends with ":" before a code excerpt we do not show.
    if (doc.errors.length) throw new ConfigError(doc.errors.map((e) => `${file}: YAML error: ${e.message.split('\n')[0].replace(/:\s*$/, '')}`));
    raw = doc.toJS();
  }
  // A workflow input (examples/demo.json is one) holds the config under "config" and no config field.
  if (raw && typeof raw === 'object' && !Array.isArray(raw) && 'config' in raw && Object.keys(raw).every((k) => INPUT_KEYS.has(k))) {
    return { raw: (raw as { config: unknown }).config, workflowInput: true };
  }
  return { raw, workflowInput: false };
}

export async function loadConfigFile(file: string): Promise<ExperimentConfig> {
  return (await loadConfigFileWithInfo(file)).config;
}

/** The parsed config with its paths made absolute, and whether the file was a workflow input. */
export async function loadConfigFileWithInfo(file: string): Promise<{ config: ExperimentConfig; workflowInput: boolean }> {
  const { raw, workflowInput } = await readConfigFile(file);
  let config: ExperimentConfig;
  try {
    config = parseExperimentConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(err.problems.map((p) => `${file}: ${p}`));
    throw err;
  }
  return { config: resolveFilePaths(config, raw as Record<string, unknown>, path.dirname(path.resolve(file))), workflowInput };
}

/** A local student's baseModel that names a folder rather than a hub id. */
export function looksLikePath(model: string): boolean {
  return /^[/.~]/.test(model);
}

export function expandPath(p: string, base: string): string {
  if (p === '~' || p.startsWith('~/')) return path.join(os.homedir(), p.slice(1));
  return path.resolve(base, p);
}

/** Paths the file sets resolve against its folder; the defaults against the working directory. */
function resolveFilePaths(config: ExperimentConfig, raw: Record<string, unknown>, fileDir: string): ExperimentConfig {
  const given = (key: string) => typeof raw[key] === 'string';
  const abs = (p: string, key: string) => expandPath(p, given(key) ? fileDir : process.cwd());
  return {
    ...config,
    dataDir: abs(config.dataDir, 'dataDir'),
    artifactDir: abs(config.artifactDir, 'artifactDir'),
    cacheDir: abs(config.cacheDir, 'cacheDir'),
    search: config.search.corpus ? { ...config.search, corpus: expandPath(config.search.corpus, fileDir) } : config.search,
    students: config.students.map((s) => (!isHostedFineTune(s.backend) && looksLikePath(s.baseModel) ? { ...s, baseModel: expandPath(s.baseModel, fileDir) } : s)),
  };
}

/**
 * Makes the config's directories absolute against `base` (the worker's working directory): a no-op
 * for a config the CLI read, which is absolute already; a workflow input written by hand may not be.
 */
export function resolveConfigPaths(config: ExperimentConfig, base = process.cwd()): ExperimentConfig {
  const abs = (p: string) => path.resolve(base, p);
  return {
    ...config,
    dataDir: abs(config.dataDir),
    artifactDir: abs(config.artifactDir),
    cacheDir: abs(config.cacheDir),
    search: config.search.corpus ? { ...config.search, corpus: abs(config.search.corpus) } : config.search,
  };
}

/**
 * Why the folders a run writes (`artifactDir`, `cacheDir`) cannot be folders, or none: a path that
 * is a file, or lies under one, fails every write later with ENOTDIR; named here, before anything runs.
 */
export async function outputFolderProblems(config: Pick<ExperimentConfig, 'artifactDir' | 'cacheDir'>): Promise<string[]> {
  const problems: string[] = [];
  for (const [field, dir] of [
    ['artifactDir', config.artifactDir],
    ['cacheDir', config.cacheDir],
  ] as const) {
    for (let p = dir; ; p = path.dirname(p)) {
      const st = await fs.stat(p).catch(() => undefined);
      if (st) {
        if (!st.isDirectory()) problems.push(p === dir ? `${field} "${dir}" is a file, not a folder` : `${field} "${dir}" lies under ${p}, which is a file, not a folder`);
        break;
      }
      if (path.dirname(p) === p) break;
    }
  }
  return problems;
}
