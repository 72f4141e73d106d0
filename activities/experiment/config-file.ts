// Reading experiment configs from JSON or YAML files; relative paths resolve against the working directory.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigError, parseExperimentConfig, type ExperimentConfig } from '../../core/config';

export async function readConfigFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${file}: cannot read config file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`]);
  }
  if (file.endsWith('.json')) {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new ConfigError([`${file}: not valid JSON: ${(err as Error).message}`]);
    }
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  // The first line of a pretty YAML error ends with ":" before a code excerpt we do not show.
  if (doc.errors.length) throw new ConfigError(doc.errors.map((e) => `${file}: YAML error: ${e.message.split('\n')[0].replace(/:\s*$/, '')}`));
  return doc.toJS();
}

export async function loadConfigFile(file: string): Promise<ExperimentConfig> {
  const raw = await readConfigFile(file);
  try {
    return parseExperimentConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(err.problems.map((p) => `${file}: ${p}`));
    throw err;
  }
}

/** Makes the config's directories absolute (the worker and the CLI may run in different folders). */
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
