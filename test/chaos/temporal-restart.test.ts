// Fault 2 (fast): the Temporal dev server restarted mid-generation and mid-fine-tuning.
import { test } from 'node:test';
import { runTemporalRestartChaos } from '../../scripts/chaos/temporal-restart';

test('Temporal restarted twice on the same database: the workers reconnect, the experiment completes', { timeout: 240_000 }, async () => {
  const row = await runTemporalRestartChaos({ episodes: 60, downMs: 2000 });
  console.log(JSON.stringify(row));
});
