// The shipped configs validate, and examples/demo.json (for the Temporal CLI) is demo.yaml as JSON.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from '@jest/globals';
import YAML from 'yaml';
import { loadConfigFile } from '../../lib/experiment/config-file';
import { parseExperimentConfig } from '../../core/config';
import { REPO_ROOT } from '../../scripts/support/paths';

test('every example config validates, and the ones the README names are there', async () => {
  const names: Record<string, string> = {};
  for (const f of await fs.readdir(path.join(REPO_ROOT, 'examples'))) {
    if (f.endsWith('.yaml')) names[f] = (await loadConfigFile(path.join(REPO_ROOT, 'examples', f))).name;
  }
  // A missing or renamed example fails here instead of leaving nothing to check.
  assert.equal(names['demo.yaml'], 'demo');
  assert.equal(names['fireact-paper.yaml'], 'fireact-paper');
});

test('examples/demo.json is the workflow input for examples/demo.yaml', async () => {
  const yaml = YAML.parse(await fs.readFile(path.join(REPO_ROOT, 'examples', 'demo.yaml'), 'utf8')) as unknown;
  const json = JSON.parse(await fs.readFile(path.join(REPO_ROOT, 'examples', 'demo.json'), 'utf8')) as { config: unknown };
  assert.deepEqual(json.config, yaml);
  parseExperimentConfig(json.config);
});
