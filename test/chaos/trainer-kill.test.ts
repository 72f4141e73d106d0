// Fault 5 (fast): the trainer SIGKILLed with its GPU worker; training resumes from the newest complete checkpoint.
import { test } from 'node:test';
import { runTrainerKillChaos } from '../../scripts/chaos/trainer-kill';

test('a preempted trainer resumes from its newest complete checkpoint, never a half-written one', { timeout: 240_000 }, async () => {
  const row = await runTrainerKillChaos({ episodes: 20, kills: 1, maxSteps: 60 });
  console.log(JSON.stringify(row));
});
