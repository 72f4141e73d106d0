// Fault 5 (fast): the trainer SIGKILLed with its GPU worker; training resumes from the newest complete checkpoint.
import { test } from '@jest/globals';
import { runTrainerKillChaos } from '../../scripts/chaos/trainer-kill';

test('a preempted trainer resumes from its newest complete checkpoint, never a half-written one', async () => {
  const row = await runTrainerKillChaos({ episodes: 20, kills: 1, maxSteps: 60 });
  console.log(JSON.stringify(row));
}, 240_000);
