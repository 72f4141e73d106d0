// The prepare activity refuses output folders that cannot be folders, non-retryably and by name, so a
// run started straight from the Temporal CLI (without `fireact validate`) fails at once, not at its
// first write.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, test } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { ErrorType } from '../../core/errors';
import { DATA_DIR } from '../../scripts/support/paths';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

test('prepareExperiment names a cacheDir or artifactDir that is, or lies under, a file', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fireact-folders-'));
  dirs.push(dir);
  const file = path.join(dir, 'a-file');
  await fs.writeFile(file, 'x');
  const config = {
    name: 'folders',
    dataDir: DATA_DIR,
    artifactDir: path.join(file, 'artifacts'),
    cacheDir: file,
    models: { teacher: { provider: 'replay', model: 'gpt-4' } },
    search: { backend: 'local' },
    generate: { teacher: 'teacher', tasks: [{ task: 'hotpotqa', split: 'dev', methods: ['cot'], sample: { n: 2 } }] },
    datasets: [{ name: 'all', tasks: ['hotpotqa'], methods: ['cot'] }],
  };
  const acts = createActivities({ env: {} });
  await assert.rejects(new MockActivityEnvironment().run(acts.prepareExperiment, { experiment: 'folders', config }), (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, ErrorType.InvalidConfig);
    assert.equal(err.nonRetryable, true);
    assert.equal(err.message, `artifactDir "${file}/artifacts" lies under ${file}, which is a file, not a folder; cacheDir "${file}" is a file, not a folder`);
    return true;
  });
  // Nothing was written beside the file.
  assert.deepEqual(await fs.readdir(dir), ['a-file']);

  // Folders that do not exist yet are fine: the run makes them.
  const fine = { ...config, artifactDir: path.join(dir, 'new', 'artifacts'), cacheDir: path.join(dir, 'new', 'cache') };
  await new MockActivityEnvironment().run(acts.prepareExperiment, { experiment: 'folders', config: fine });
});
