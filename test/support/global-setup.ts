// jest's globalSetup: the workflow code is bundled once for the whole run, not once per test file
// and per worker process (about 5 s of CPU each). Test processes and the worker processes they start
// inherit FIREACT_WORKFLOW_BUNDLE. A run of unit tests alone needs no bundle.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeWorkflowBundle } from '../../scripts/bundle-workflows';

/** The selected paths are all under test/unit (a run of pure tests). */
function unitOnly(config: { testPathPattern?: string }): boolean {
  const patterns = config.testPathPattern ? config.testPathPattern.split('|') : [];
  return patterns.length > 0 && patterns.every((p) => /(^|\/)test\/unit(\/|$)/.test(p));
}

export default async function globalSetup(config: { testPathPattern?: string }): Promise<void> {
  if (unitOnly(config)) return;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fireact-jest-'));
  const file = path.join(dir, 'workflow-bundle.js');
  await writeWorkflowBundle(file);
  process.env.FIREACT_WORKFLOW_BUNDLE = file;
}
