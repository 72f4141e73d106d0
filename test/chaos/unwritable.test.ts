// Fault 6 (fast): the trajectories folder unwritable for a few seconds mid-generation.
import { test } from '@jest/globals';
import { runUnwritableChaos } from '../../scripts/chaos/unwritable';

test('an unwritable artifact folder: ArtifactWriteFailed, retried, nothing partial taken as complete', async () => {
  const row = await runUnwritableChaos({ episodes: 60, blocks: 1, blockMs: 3000 });
  console.log(JSON.stringify(row));
}, 180_000);
