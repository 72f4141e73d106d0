// Stage generate: one agent episode of the teacher, metered when the workflow's ledger gave it an allowance.
// The batch rounds (batch.ts) play the same episode with the batch model as teacher.
import { setMaxListeners } from 'node:events';
import { Context } from '@temporalio/activity';
import { scoringRuleFor } from '../core/config';
import { episodeReservation, fits, ZERO } from '../core/budget';
import { ErrorType, isRetryableFailure, isTypedFailure, typedFailure } from '../core/errors';
import { maxEpisodeCalls } from '../core/methods';
import { mergePrices, type PricedModel } from '../core/prices';
import { TRAJECTORY_SCHEMA, trajectoryId, type TrajectoryRecord } from '../core/trajectory';
import { runEpisode as runAgentEpisode } from '../lib/agent/episode';
import { budgetExhausted, meterModel } from '../lib/budget/metered-model';
import type { ClientProvider } from '../lib/experiment/clients';
import type { ChatModel } from '../lib/models/types';
import type { FrozenState } from '../lib/experiment/frozen';
import { layout } from '../lib/experiment/layout';
import { findTrajectory } from '../lib/experiment/trajectories';
import { firstPromptBound } from '../lib/plan/reservations';
import { getTask } from '../lib/tasks/registry';
import type { EpisodeInput, EpisodesInput, EpisodesResult, EpisodeSummary } from './contracts';
import { startHeartbeat } from './heartbeat';

/** A teacher in place of the configured one (batch rounds), and how its calls are priced. */
export interface EpisodeVia {
  teacher: (episodeId: string) => ChatModel;
  priced: PricedModel;
}

/** Where an episode reports its steps and hears of cancellation, when its caller heartbeats for it. */
export interface EpisodeRun {
  onStep: (step: number, id: string) => void;
  signal: AbortSignal;
}

export type PlayEpisode = (input: EpisodeInput, via?: EpisodeVia, run?: EpisodeRun) => Promise<EpisodeSummary>;

/**
 * One agent episode, stored as its trajectory record: the synchronous activity and each batch round
 * run this same code, so their trajectories are identical. `via` replaces the teacher (the batch
 * model, which answers from the cache or asks for a batch request) and how it is priced. Without
 * `run` the episode heartbeats for itself; a chunk of episodes (runEpisodes) heartbeats for all.
 */
export function createEpisodePlayer(deps: { clients: ClientProvider; frozen: FrozenState }): PlayEpisode {
  const { clients } = deps;
  const frozenConfig = deps.frozen.config;
  const sample = deps.frozen.sample;
  return async function playEpisode(input, via, run) {
    const config = await frozenConfig(input.handle);
    const store = clients.store(config);
    const question = (await sample(config, input.samplePath))[input.index];
    if (!question) throw typedFailure({ type: ErrorType.MissingData, message: `no question ${input.index} in ${input.samplePath}`, nonRetryable: true });
    const id = trajectoryId(question, input.method);
    const rel = layout.trajectory(input.handle.experiment, question, input.method);
    const stored = await findTrajectory(store, input.handle.experiment, question, input.method);
    if (stored) {
      // A file of the previous release's layout moves to its own path, where curation reads it.
      if (stored.legacy) await store.writeJson(rel, stored.record);
      return summarize(stored.record, true);
    }
    const task = getTask(input.task);
    const teacherModel = via ? via.teacher(id) : await clients.model(config, config.generate.teacher);
    let model = teacherModel;
    let metered: ReturnType<typeof meterModel> | undefined;
    if (input.allowance) {
      // Refuse before the first call when this episode's reservation does not fit; else meter every call.
      const mc = config.models[config.generate.teacher];
      const priced = via?.priced ?? mc;
      const prices = mergePrices(config.prices);
      const worst = episodeReservation(
        priced,
        { calls: maxEpisodeCalls(input.method, config.generate), firstPromptTokens: firstPromptBound(input.method, [question], config.generate.fewShot), maxTokens: mc.maxTokens },
        prices,
      );
      if (!fits(worst, input.allowance)) {
        throw budgetExhausted(`episode ${id}: its reservation ($${worst.usd.toFixed(4)}, ${worst.tokens} tokens) does not fit its allowance`, {
          paid: ZERO,
          allowance: input.allowance,
          need: worst,
        });
      }
      metered = meterModel(teacherModel, { allowance: input.allowance, maxTokens: mc.maxTokens, prices, priced });
      model = metered;
    }
    const search = task.usesSearch ? await clients.search(config) : undefined;
    // A third of the episode's heartbeat timeout (profiles.llmCall).
    const heartbeat = run ? undefined : startHeartbeat({ id, step: 0 }, 10_000, { lazy: true });
    const teacherConfig = config.models[config.generate.teacher];
    let record: TrajectoryRecord;
    try {
      const result = await runAgentEpisode({
        question,
        method: input.method,
        model,
        search,
        score: (p, a) => task.score(p, a, scoringRuleFor(config, input.task)),
        options: {
          maxSteps: config.generate.maxSteps,
          maxMalformedRetries: config.generate.maxMalformedRetries,
          reflexion: config.generate.reflexion,
          fewShot: config.generate.fewShot,
        },
        signal: run?.signal ?? Context.current().cancellationSignal,
        onStep: (step) => (run ? run.onStep(step, id) : heartbeat?.update({ id, step })),
      });
      record = {
        schema: TRAJECTORY_SCHEMA,
        id,
        experiment: input.handle.experiment,
        teacher: { name: config.generate.teacher, provider: teacherConfig.provider, model: teacherConfig.model, replay: teacherConfig.provider === 'replay' },
        ...result,
      };
    } catch (err) {
      if (!(isTypedFailure(err, ErrorType.ReplayMiss))) throw err;
      // A replayed episode that cannot follow its recording is kept as unfinished, with the reason.
      record = {
        schema: TRAJECTORY_SCHEMA,
        id,
        experiment: input.handle.experiment,
        question,
        method: input.method,
        teacher: { name: config.generate.teacher, provider: 'replay', model: teacherConfig.model, replay: true },
        turns: [],
        prediction: null,
        finished: false,
        reward: question.answers.length ? 0 : null,
        metrics: {},
        steps: 0,
        trials: 0,
        malformed: 0,
        forcedFinish: false,
        usage: { calls: 0, promptTokens: 0, completionTokens: 0, cachedCalls: 0 },
        replayNote: err.message,
      };
    } finally {
      heartbeat?.stop();
    }
    await store.writeJson(rel, record);
    return { ...summarize(record, false), ...(metered ? { paid: metered.paid() } : {}) };
  };
}

/**
 * Takes in what other workers stored in the experiment's caches until now. Activities that play
 * episodes call it when they start, so whatever an earlier activity stored on another worker (a
 * killed attempt's replies, a batch round's answers) is answered from the cache, not paid again.
 */
export type SyncCaches = (handle: EpisodeInput['handle']) => Promise<void>;

export function createCacheSync(deps: { clients: ClientProvider; frozen: FrozenState }): SyncCaches {
  return async (handle) => deps.clients.syncCaches(await deps.frozen.config(handle));
}

export function createEpisodeActivities(deps: { playEpisode: PlayEpisode; syncCaches: SyncCaches }) {
  return {
    /** One agent episode; idempotent: a trajectory already in the store is returned, not re-run. */
    async runEpisode(input: EpisodeInput): Promise<EpisodeSummary> {
      await deps.syncCaches(input.handle);
      return deps.playEpisode(input);
    },

    /**
     * Episodes `from`..`to`-1 of a shard, all at once (the model's limiter paces their calls), each
     * stored as it finishes: a retry or another worker finds those in the store and runs only the rest.
     * One activity instead of one per episode: fewer round trips and history events per episode.
     * A non-retryable episode failure is reported in `failed`; a retryable one fails the activity once
     * the others have finished (so they are kept), except on the last attempt, where it is reported.
     */
    async runEpisodes(input: EpisodesInput): Promise<EpisodesResult> {
      const ctx = Context.current();
      await deps.syncCaches(input.handle);
      const total = input.to - input.from;
      // Every episode's requests, searches and backoff sleeps listen on the one cancellation signal
      // (a few at a time each): without this Node warns of a leak once a chunk passes 10 listeners.
      setMaxListeners(10 + 4 * total, ctx.cancellationSignal);
      const state = { done: 0, total, steps: 0 };
      const heartbeat = startHeartbeat(state, 10_000, { lazy: true });
      const result: EpisodesResult = { episodes: total, succeeded: 0, calls: 0, cachedCalls: 0, reused: 0, failed: [] };
      let retry: unknown;
      try {
        const indices = Array.from({ length: total }, (_, i) => input.from + i);
        await Promise.all(
          indices.map(async (index) => {
            try {
              const s = await deps.playEpisode({ handle: input.handle, task: input.task, method: input.method, samplePath: input.samplePath, index }, undefined, {
                onStep: () => {
                  state.steps += 1;
                  heartbeat.update(state);
                },
                signal: ctx.cancellationSignal,
              });
              if (s.reward === 1) result.succeeded += 1;
              result.calls += s.calls;
              result.cachedCalls += s.cachedCalls;
              if (s.reused) result.reused += 1;
              state.done += 1;
              // Only what succeeded is progress: a chunk whose episodes all fail is blocked, not busy.
              heartbeat.update(state);
            } catch (err) {
              if (ctx.cancellationSignal.aborted) throw err;
              const last = ctx.info.attempt >= (ctx.info.retryPolicy?.maximumAttempts ?? Infinity);
              if (isRetryableFailure(err) && !last) {
                retry ??= err;
                return;
              }
              const type = isTypedFailure(err) ? (err.type ?? undefined) : undefined;
              result.failed.push({ index, message: err instanceof Error ? err.message : String(err), ...(type ? { type } : {}) });
            }
          }),
        );
      } finally {
        heartbeat.stop();
      }
      if (retry !== undefined) throw retry;
      result.failed.sort((a, b) => a.index - b.index);
      return result;
    },
  };
}

function summarize(r: TrajectoryRecord, reused: boolean): EpisodeSummary {
  return { id: r.id, reward: r.reward, finished: r.finished, steps: r.steps, calls: r.usage.calls, cachedCalls: r.usage.cachedCalls, reused };
}
