// Fine-tuning backends are data: each name's kind (core/names.ts) decides the path a student takes,
// and every hosted name has its FineTuneJobBackend in the registry (lib/finetune/registry.ts).
import assert from 'node:assert/strict';
import { test } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createHostedFineTuneActivities } from '../../activities/finetune-hosted';
import type { HostedEndpointInput } from '../../activities/contracts';
import { ErrorType } from '../../core/errors';
import { FINETUNE_BACKENDS, isHostedFineTune, type HostedFineTuneBackendName } from '../../core/names';
import type { FineTuneJobBackendFactory } from '../../lib/finetune/hosted';
import { FINETUNE_JOB_BACKENDS } from '../../lib/finetune/registry';

test('every hosted backend has a job backend in the registry, and the local trainer is the one other kind', () => {
  const hosted = FINETUNE_BACKENDS.filter(isHostedFineTune);
  assert.deepEqual(Object.keys(FINETUNE_JOB_BACKENDS).sort(), [...hosted].sort());
  assert.deepEqual(FINETUNE_BACKENDS.filter((b) => !isHostedFineTune(b)), ['local']);
  for (const name of hosted) {
    const backend = FINETUNE_JOB_BACKENDS[name]({ baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-test' });
    assert.equal(backend.baseUrl, 'http://127.0.0.1:9/v1', name);
    for (const step of ['validateTrainingFile', 'uploadTrainingFile', 'createJob', 'getJob', 'followJob', 'cancelJob'] as const) {
      assert.equal(typeof backend[step], 'function', `${name}.${step}`);
    }
  }
});

test('a hosted name without a registry entry does not type-check', () => {
  // The type check (run before the tests) fails if this assignment ever compiles: the registry must
  // name exactly the hosted backends, so a hosted name added to core/names.ts alone is refused.
  // @ts-expect-error "not-a-backend" has no entry in FINETUNE_JOB_BACKENDS
  const withUnknown: Record<HostedFineTuneBackendName | 'not-a-backend', FineTuneJobBackendFactory> = FINETUNE_JOB_BACKENDS;
  assert.equal(Object.hasOwn(withUnknown, 'not-a-backend'), false);
});

test('a hosted-job activity given a backend that is not hosted refuses it, naming the hosted ones', async () => {
  const activities = createHostedFineTuneActivities({ env: {} });
  const env = new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });
  // Only an input made by hand can carry it: the workflow sends a validated student's hosted backend.
  const input = { backend: 'local' as HostedEndpointInput['backend'], jobId: 'ftjob-1' };
  const err: unknown = await env.run(activities.cancelHostedFineTune, input).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApplicationFailure);
  assert.equal(err.type, ErrorType.InvalidConfig);
  assert.equal(err.nonRetryable, true);
  assert.equal(err.message, 'fine-tuning backend "local" is not a hosted backend; hosted backends: openai');
});
