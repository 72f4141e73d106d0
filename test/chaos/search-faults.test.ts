// Fault 4 (fast): a failing and slow search backend; failures become observations, episodes go on.
import { test } from '@jest/globals';
import { runSearchFaultChaos } from '../../scripts/chaos/search-faults';

test('search 500s and timeouts become observations; the experiment completes', async () => {
  const row = await runSearchFaultChaos({ episodes: 40, every: 4 });
  console.log(JSON.stringify(row));
}, 180_000);
