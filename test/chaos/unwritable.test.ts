// Fault 6 (fast): the trajectories folder unwritable for a few seconds mid-generation.
import { test } from 'node:test';
import { runUnwritableChaos } from '../../scripts/chaos/unwritable';

test('an unwritable artifact folder: ArtifactWriteFailed, retried, nothing partial taken as complete', { timeout: 180_000 }, async () => {
  const row = await runUnwritableChaos({ episodes: 60, blocks: 1, blockMs: 3000 });
  console.log(JSON.stringify(row));
});
