// Fault 5 (fast): the trainer SIGKILLed twice at random moments with its GPU worker; training resumes from the
// newest complete checkpoint and ends with the loss curve of an undisturbed run.
import { test } from '@jest/globals';
import { runTrainerKillChaos } from '../../scripts/chaos/trainer-kill';

test('a preempted trainer resumes from its newest complete checkpoint, never a half-written one, and ends on the undisturbed loss curve', async () => {
  const row = await runTrainerKillChaos({ episodes: 20, kills: 2, maxSteps: 60 });
  console.log(JSON.stringify(row));
}, 480_000);
