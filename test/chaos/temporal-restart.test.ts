// Fault 2 (fast): the Temporal dev server restarted mid-generation and mid-fine-tuning.
import { test } from '@jest/globals';
import { runTemporalRestartChaos } from '../../scripts/chaos/temporal-restart';

test('Temporal restarted twice on the same database: the workers reconnect, the experiment completes', async () => {
  const row = await runTemporalRestartChaos({ episodes: 60, downMs: 2000 });
  console.log(JSON.stringify(row));
}, 240_000);
