// runEpisodes: several episodes in one activity, each stored as it finishes, so a retry runs only the
// unfinished ones and pays nothing twice; failures are reported per episode, retryable ones retried.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, test } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { createClientProvider } from '../../lib/experiment/clients';
import type { EpisodesResult, PrepareResult } from '../../activities/contracts';
import { ErrorType } from '../../core/errors';
import type { Question } from '../../core/trajectory';
import { fakeTeacher, startFakeOpenAIServer, type FakeBehaviour } from '../../scripts/support/fake-openai-server';
import { DATA_DIR } from '../../scripts/support/paths';

const dirs: string[] = [];
const servers: Array<{ close(): Promise<void> }> = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

/** n HotpotQA dev questions with CoT, the teacher at `url`, everything under `dir`. */
function cotConfig(name: string, dir: string, url: string, n: number) {
  return {
    name,
    dataDir: DATA_DIR,
    artifactDir: path.join(dir, 'artifacts'),
    cacheDir: path.join(dir, 'cache'),
    models: { teacher: { provider: 'openai', model: 'fake-teacher', baseUrl: url } },
    search: { backend: 'local' },
    generate: { teacher: 'teacher', tasks: [{ task: 'hotpotqa', split: 'dev', methods: ['cot'], sample: { n } }] },
    curate: { requireSuccess: false, excludeEvalQuestions: false },
    datasets: [{ name: 'all', tasks: ['hotpotqa'], methods: ['cot'] }],
  };
}

test('a chunk of episodes: stored as they finish, a retry runs only the unfinished, failures reported per episode', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fireact-chunks-'));
  dirs.push(dir);
  const answer = fakeTeacher();
  let broken = new Set<string>();
  let badRequest = new Set<string>();
  const behaviour: FakeBehaviour = (body, n) => {
    const asked = body.messages?.find((m) => m.role === 'user')?.content ?? '';
    if ([...badRequest].some((q) => asked.includes(q))) return { status: 400, error: { message: 'this question is refused', type: 'invalid_request_error', code: null } };
    if ([...broken].some((q) => asked.includes(q))) return { status: 500, error: { message: 'the server is having a bad day', type: 'server_error', code: null } };
    return answer(body, n);
  };
  const model = await startFakeOpenAIServer({ behaviour });
  servers.push(model);

  const acts = createActivities({ env: {} });
  const config = cotConfig('chunks', dir, model.url, 6);
  const prep = (await new MockActivityEnvironment().run(acts.prepareExperiment, { experiment: 'chunks', config })) as PrepareResult;
  const shard = prep.shards[0];
  const { questions } = JSON.parse(await fs.readFile(path.join(dir, 'artifacts', shard.samplePath), 'utf8')) as { questions: Question[] };
  const input = { handle: prep.handle, task: shard.task, method: shard.method, samplePath: shard.samplePath, from: 0, to: 6 };

  // Attempt 1 of 3: question 2's server errors (retryable) fail the activity, but only once the
  // other five are stored; question 4's 400 can never succeed and is reported, not retried.
  broken = new Set([questions[2].text]);
  badRequest = new Set([questions[4].text]);
  const first = new MockActivityEnvironment({ attempt: 1, retryPolicy: { maximumAttempts: 3 } }).run(acts.runEpisodes, input);
  await assert.rejects(first, (err: unknown) => err instanceof ApplicationFailure && err.type === ErrorType.ModelUnavailable && !err.nonRetryable);
  const stored = async () => (await fs.readdir(path.join(dir, 'artifacts', 'chunks', 'trajectories', 'hotpotqa', 'dev', 'cot'))).length;
  assert.equal(await stored(), 4);
  const paidFirst = model.answered;
  assert.equal(paidFirst, 4);

  // Attempt 2, server healed: the four stored episodes are reused (no request), question 2 runs.
  broken = new Set();
  const second = (await new MockActivityEnvironment({ attempt: 2, retryPolicy: { maximumAttempts: 3 } }).run(acts.runEpisodes, input)) as EpisodesResult;
  assert.equal(second.episodes, 6);
  assert.equal(second.reused, 4);
  assert.equal(model.answered, paidFirst + 1);
  assert.deepEqual(
    second.failed.map((f) => [f.index, f.type]),
    [[4, ErrorType.ModelBadRequest]],
  );
  assert.match(second.failed[0].message, /this question is refused/);
  assert.equal(await stored(), 5);

  // The last attempt reports a retryable failure too, instead of failing the whole chunk with it.
  broken = new Set([questions[4].text]);
  badRequest = new Set();
  const last = (await new MockActivityEnvironment({ attempt: 3, retryPolicy: { maximumAttempts: 3 } }).run(acts.runEpisodes, input)) as EpisodesResult;
  assert.deepEqual(
    last.failed.map((f) => [f.index, f.type]),
    [[4, ErrorType.ModelUnavailable]],
  );
  assert.equal(last.reused, 5);
  assert.equal(model.answered, paidFirst + 1);
});

test('episodes retried on another worker find the replies the first worker stored a moment before', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fireact-chunks-'));
  dirs.push(dir);
  const answer = fakeTeacher();
  let refuse = true;
  const model = await startFakeOpenAIServer({
    behaviour: (body, n) => (refuse ? { status: 400, error: { message: 'not yet', type: 'invalid_request_error', code: null } } : answer(body, n)),
  });
  servers.push(model);
  const config = cotConfig('handoff', dir, model.url, 4);
  // Two workers (two client providers, as two processes have). B would look for other writers'
  // entries on a miss only once an hour: only the look each episode takes when it starts shows it A's.
  const a = createActivities({ env: {} });
  const b = createActivities({ env: {}, clients: createClientProvider({}, { cache: { refreshMs: 3_600_000 } }) });
  const prep = (await new MockActivityEnvironment().run(a.prepareExperiment, { experiment: 'handoff', config })) as PrepareResult;
  const shard = prep.shards[0];
  const input = { handle: prep.handle, task: shard.task, method: shard.method, samplePath: shard.samplePath, from: 0, to: 4 };
  const lastAttempt = { attempt: 1, retryPolicy: { maximumAttempts: 1 } };

  // B has looked at the cache (its four calls refused, nothing stored) before A stores anything.
  const refused = (await new MockActivityEnvironment(lastAttempt).run(b.runEpisodes, input)) as EpisodesResult;
  assert.equal(refused.failed.length, 4);
  refuse = false;
  const byA = (await new MockActivityEnvironment(lastAttempt).run(a.runEpisodes, input)) as EpisodesResult;
  assert.equal(byA.failed.length, 0);
  assert.equal(model.answered, 4);

  // A's trajectories lost (say, A was killed before writing them): B's retry pays for nothing.
  await fs.rm(path.join(dir, 'artifacts', 'handoff', 'trajectories'), { recursive: true });
  const byB = (await new MockActivityEnvironment(lastAttempt).run(b.runEpisodes, input)) as EpisodesResult;
  assert.equal(byB.failed.length, 0);
  assert.equal(byB.reused, 0);
  assert.equal(byB.cachedCalls, 4);
  assert.equal(model.answered, 4);
});
