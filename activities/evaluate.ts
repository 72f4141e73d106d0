// Evaluation of one (model, task, method, tool noise) on a frozen eval sample: the model is reached
// through an OpenAI-compatible endpoint (a served local model, an OpenAI fine-tune, or a configured
// model); each episode's trajectory is stored, so a retried activity resumes where it stopped.
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { add, fits, room, sub, ZERO, type BudgetExhaustedDetails, type Cap } from '../core/budget';
import { ModelSchema, scoringRuleFor } from '../core/config';
import { ErrorType } from '../core/errors';
import { estimateCost, mergePrices } from '../core/prices';
import { TRAJECTORY_SCHEMA, trajectoryId, type TrajectoryRecord } from '../core/trajectory';
import { runEpisode as runAgentEpisode } from '../lib/agent/episode';
import { budgetExhausted, meterModel } from '../lib/budget/metered-model';
import type { ClientProvider } from '../lib/experiment/clients';
import type { FrozenState } from '../lib/experiment/frozen';
import { startHeartbeat } from './heartbeat';
import { layout } from '../lib/experiment/layout';
import { createOpenAIModel, resolveApiKey } from '../lib/models/openai-model';
import type { ChatModel } from '../lib/models/types';
import type { EvalRow } from '../lib/report/types';
import { getTask } from '../lib/tasks/registry';
import type { SearchBackend } from '../lib/tools/types';
import { aggregateEpisodes, type EpisodeOutcome } from '../lib/evaluate/metrics';
import { emptySearch, randomSnippetSearch } from '../lib/evaluate/noise';
import { LOCAL_EVAL_MAX_TOKENS, serveLocalModel, type ServedModel } from '../lib/evaluate/serve';
import type { EvalInput, EvalOutcome } from './contracts';

export function createEvaluateActivities(deps: {
  clients: ClientProvider;
  frozen: FrozenState;
  python: () => Promise<string>;
  env?: NodeJS.ProcessEnv;
}) {
  const env = deps.env ?? process.env;
  const { frozen } = deps;

  return {
    async evaluateModel(input: EvalInput): Promise<EvalOutcome> {
      const config = await frozen.config(input.handle);
      const evalConfig = config.evaluate!;
      const store = deps.clients.store(config);
      const questions = await frozen.sample(config, input.samplePath);
      const { target } = input;
      const runDir = layout.evalRun(input.handle.experiment, target.name, input.task, input.split, target.method, input.noise);
      const task = getTask(input.task);
      const rule = scoringRuleFor(config, input.task);
      const cache = deps.clients.modelCache(config);
      await deps.clients.syncCaches(config);
      const heartbeat = startHeartbeat({ done: 0, total: questions.length });

      let served: ServedModel | undefined;
      try {
        let model: ChatModel;
        let priced = { provider: 'local', model: target.name };
        let maxTokens = LOCAL_EVAL_MAX_TOKENS;
        if (target.local) {
          served = await serveLocalModel(await deps.python(), { ...target.local, maxNewTokens: LOCAL_EVAL_MAX_TOKENS }, env, { maxConcurrency: evalConfig.episodeConcurrency });
          model = createOpenAIModel({
            name: target.name,
            config: ModelSchema.parse({ provider: 'openai', model: served.model, baseUrl: served.baseUrl, maxConcurrency: evalConfig.episodeConcurrency, maxTokens: LOCAL_EVAL_MAX_TOKENS }),
            apiKey: 'local',
            cache,
          });
        } else if (target.openai) {
          const mc = ModelSchema.parse({ provider: 'openai', ...target.openai });
          model = createOpenAIModel({ name: target.name, config: mc, apiKey: resolveApiKey(mc, env), cache });
          priced = { provider: 'openai', model: target.openai.model };
          maxTokens = mc.maxTokens;
        } else {
          model = await deps.clients.model(config, target.configModel!);
          const mc = config.models[target.configModel!];
          priced = { provider: mc.provider, model: mc.model };
          maxTokens = mc.maxTokens;
        }

        let search: SearchBackend | undefined = task.usesSearch ? await deps.clients.search(config) : undefined;
        if (search && input.noise === 'empty') search = emptySearch(search);
        if (search && input.noise === 'random') {
          const snippets = (await deps.clients.replayLibrary(config)).snippets();
          search = randomSnippetSearch(search, snippets, config.seed);
        }

        const records: TrajectoryRecord[] = new Array(questions.length);
        let next = 0;
        let done = 0;
        const signal = Context.current().cancellationSignal;
        // Budget: each new episode reserves its worst case from the allowance and is metered call by call;
        // once the next one does not fit, none start, and the activity reports what it paid.
        const prices = mergePrices(config.prices);
        const { budget } = input;
        const episodeAllowance: Cap | undefined = budget && {
          usd: budget.allowance.usd === undefined ? undefined : budget.perEpisode.usd,
          tokens: budget.allowance.tokens === undefined ? undefined : budget.perEpisode.tokens,
        };
        let spent = ZERO;
        let reserved = ZERO;
        let refused: BudgetExhaustedDetails | undefined;
        const worker = async () => {
          while (next < questions.length && !signal.aborted && !refused) {
            const i = next++;
            const q = questions[i];
            const rel = layout.evalEpisode(runDir, q.id);
            if (await store.exists(rel)) {
              records[i] = await store.readJson<TrajectoryRecord>(rel);
            } else {
              if (budget && !fits(budget.perEpisode, room(budget.allowance, add(spent, reserved)))) {
                refused ??= { paid: ZERO, allowance: budget.allowance, need: budget.perEpisode };
                return;
              }
              if (budget) reserved = add(reserved, budget.perEpisode);
              const metered = episodeAllowance && meterModel(model, { allowance: episodeAllowance, maxTokens, prices });
              let result: Awaited<ReturnType<typeof runAgentEpisode>>;
              try {
                result = await runAgentEpisode({
                  question: q,
                  method: target.method,
                  model: metered ?? model,
                  search,
                  score: (p, a) => task.score(p, a, rule),
                  options: {
                    maxSteps: evalConfig.maxSteps,
                    maxMalformedRetries: config.generate.maxMalformedRetries,
                    reflexion: config.generate.reflexion,
                    fewShot: config.generate.fewShot,
                    prompt: target.prompt,
                  },
                  signal,
                });
              } catch (err) {
                if (!(metered && err instanceof ApplicationFailure && err.type === ErrorType.BudgetExhausted)) throw err;
                // It outgrew its reservation: book what it paid; the experiment reserves more next time.
                refused = err.details?.[0] as BudgetExhaustedDetails;
                return;
              } finally {
                if (metered && budget) {
                  spent = add(spent, metered.paid());
                  reserved = sub(reserved, budget.perEpisode);
                }
              }
              records[i] = {
                schema: TRAJECTORY_SCHEMA,
                id: trajectoryId(q, target.method),
                experiment: input.handle.experiment,
                teacher: { name: target.name, provider: priced.provider, model: priced.model, replay: priced.provider === 'replay' },
                ...result,
              };
              await store.writeJson(rel, records[i]);
            }
            done += 1;
            heartbeat.update({ done, total: questions.length });
          }
        };
        await Promise.all(Array.from({ length: Math.min(evalConfig.episodeConcurrency, questions.length) }, worker));
        if (signal.aborted) throw signal.reason ?? new Error('cancelled');
        if (refused) {
          // Finished episodes are stored; a later run with more allowance picks up from them.
          throw budgetExhausted(`evaluation of ${target.name} on ${input.task}: ${done} of ${questions.length} episodes fit the allowance`, {
            ...refused,
            paid: spent,
          });
        }

        const outcomes: EpisodeOutcome[] = records.map((r) => ({
          reward: r.reward,
          metrics: r.metrics,
          finished: r.finished,
          validActions: r.turns.filter((t) => t.role === 'assistant').length,
          totalActions: r.turns.filter((t) => t.role === 'assistant').length + r.malformed,
          steps: r.steps,
          promptTokens: r.usage.promptTokens,
          completionTokens: r.usage.completionTokens,
          costUsd: estimateCost(priced, r.usage, prices).usd,
        }));
        const agg = aggregateEpisodes(outcomes, { resamples: evalConfig.bootstrapSamples, seed: config.seed });
        const metrics: EvalRow['metrics'] = {};
        for (const [name, mean] of Object.entries(agg.means)) {
          const ci = agg.ci95[name];
          if (mean !== null) metrics[name] = { mean, lo: ci ? ci[0] : mean, hi: ci ? ci[1] : mean };
        }
        const row: EvalRow = {
          model: target.name,
          kind: target.kind,
          task: input.task,
          split: input.split,
          method: target.method,
          noise: input.noise,
          n: agg.n,
          scoring: rule,
          metrics,
          validActionRate: agg.validActionRate ?? 0,
          finishedRate: agg.finishedRate ?? 0,
          meanSteps: agg.meanSteps ?? 0,
          promptTokens: agg.tokens.prompt,
          completionTokens: agg.tokens.completion,
          costUsd: agg.costUsd,
        };
        await store.writeJson(`${runDir}/result.json`, row);
        log.info('evaluation finished', { model: target.name, task: input.task, method: target.method, noise: input.noise, n: agg.n });
        return budget ? { ...row, paid: spent } : row;
      } finally {
        heartbeat.stop();
        await served?.stop();
      }
    },
  };
}
