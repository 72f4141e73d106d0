// The shipped configs validate, and examples/demo.json (for the Temporal CLI) is demo.yaml as JSON.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from '@jest/globals';
import YAML from 'yaml';
import { loadConfigFile } from '../../activities/experiment/config-file';
import { parseExperimentConfig } from '../../core/config';
import { REPO_ROOT } from '../../scripts/support/paths';

test('every example config validates', async () => {
  for (const f of await fs.readdir(path.join(REPO_ROOT, 'examples'))) {
    if (f.endsWith('.yaml')) await loadConfigFile(path.join(REPO_ROOT, 'examples', f));
  }
});

test('examples/demo.json is the workflow input for examples/demo.yaml', async () => {
  const yaml = YAML.parse(await fs.readFile(path.join(REPO_ROOT, 'examples', 'demo.yaml'), 'utf8')) as unknown;
  const json = JSON.parse(await fs.readFile(path.join(REPO_ROOT, 'examples', 'demo.json'), 'utf8')) as { config: unknown };
  assert.deepEqual(json.config, yaml);
  parseExperimentConfig(json.config);
});
