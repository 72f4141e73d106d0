// Fault 3 (fast): a misbehaving model server; transient faults retried with backoff and Retry-After,
// 400 and 401 fail fast with a clear message and no retry storm.
import { test } from '@jest/globals';
import { runFailFast, runModelFaultChaos } from '../../scripts/chaos/model-faults';

test('transient model faults mixed over a run: retried, backed off, datasets as undisturbed', async () => {
  const row = await runModelFaultChaos({ episodes: 60, every: 6 });
  console.log(JSON.stringify(row));
}, 240_000);

for (const status of ['400', '401'] as const) {
  test(`a ${status} fails fast, naming the model and endpoint, one request per call`, async () => {
    // "Fast" is what runFailFast asserts: one request per distinct call, none repeated, no retry storm;
    // the time is printed, not bounded.
    const r = await runFailFast(status);
    console.log(`${status}: failed in ${r.seconds.toFixed(1)} s after ${r.requests} requests: ${r.message.slice(0, 300)}`);
  }, 120_000);
}
