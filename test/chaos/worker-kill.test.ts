// Fault 1 (fast): the worker process SIGKILLed 3 times over ~150 episodes; nothing lost, nothing twice.
import { test } from '@jest/globals';
import { runWorkerKillChaos } from '../../scripts/chaos/worker-kill';

test('worker SIGKILLed 3 times: every episode once, datasets as undisturbed, no call paid twice outside the kills', async () => {
  const row = await runWorkerKillChaos({ episodes: 150, kills: 3 });
  console.log(JSON.stringify(row));
}, 240_000);
