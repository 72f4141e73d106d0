// Evaluation of one (model, task, method, tool noise) on a frozen eval sample: the model is reached
// through an OpenAI-compatible endpoint (a served local model, an OpenAI fine-tune, or a configured
// model); each episode's trajectory is stored, so a retried activity resumes where it stopped.
import path from 'node:path';
import { Context, log } from '@temporalio/activity';
import { ModelSchema, type MethodName, type TaskName } from '../../core/config';
import { estimateCost, mergePrices } from '../../core/prices';
import { TRAJECTORY_SCHEMA, trajectoryId, type TrajectoryRecord } from '../../core/trajectory';
import { runEpisode as runAgentEpisode } from '../agent/episode';
import { createContentCache } from '../cache/content-cache';
import type { ClientProvider } from '../experiment/clients';
import { createFrozenState, type ExperimentHandle } from '../experiment/frozen';
import { startHeartbeat } from '../experiment/heartbeat';
import { layout } from '../experiment/layout';
import { createOpenAIModel, resolveApiKey } from '../models/openai-model';
import type { ChatModel } from '../models/types';
import type { EvalRow } from '../report/types';
import { getTask } from '../tasks/registry';
import type { SearchBackend } from '../tools/types';
import { aggregateEpisodes, type EpisodeOutcome } from './metrics';
import { emptySearch, randomSnippetSearch } from './noise';
import { serveLocalModel, type ServedModel } from './serve';

export interface EvalTarget {
  /** Row label in the report, e.g. "tiny@multitask-multimethod". */
  name: string;
  kind: EvalRow['kind'];
  method: MethodName;
  /** 'student': zero-shot in the training format; 'few-shot': the method's prompt with exemplars. */
  prompt: 'student' | 'few-shot';
  /** A model from config.models (prompted baselines). */
  configModel?: string;
  local?: { modelDir: string; adapterDir: string | null };
  openai?: { model: string; baseUrl?: string; apiKeyEnv?: string };
}

export interface EvalInput {
  handle: ExperimentHandle;
  target: EvalTarget;
  task: TaskName;
  split: string;
  samplePath: string;
  noise: EvalRow['noise'];
}

export function createEvaluateActivities(deps: { clients: ClientProvider; python: () => Promise<string>; env?: NodeJS.ProcessEnv }) {
  const env = deps.env ?? process.env;
  const frozen = createFrozenState(deps.clients);

  return {
    async evaluateModel(input: EvalInput): Promise<EvalRow> {
      const config = await frozen.config(input.handle);
      const evalConfig = config.evaluate!;
      const store = deps.clients.store(config);
      const questions = await frozen.sample(config, input.samplePath);
      const { target } = input;
      const runDir = layout.evalRun(input.handle.experiment, target.name, input.task, input.split, target.method, input.noise);
      const task = getTask(input.task);
      const cache = createContentCache(path.join(config.cacheDir, 'models'));
      const heartbeat = startHeartbeat({ done: 0, total: questions.length });

      let served: ServedModel | undefined;
      try {
        let model: ChatModel;
        let priced = { provider: 'local', model: target.name };
        if (target.local) {
          served = await serveLocalModel(await deps.python(), { ...target.local, maxNewTokens: 256 }, env);
          model = createOpenAIModel({
            name: target.name,
            config: ModelSchema.parse({ provider: 'openai', model: served.model, baseUrl: served.baseUrl, maxConcurrency: evalConfig.episodeConcurrency, maxTokens: 256 }),
            apiKey: 'local',
            cache,
          });
        } else if (target.openai) {
          const mc = ModelSchema.parse({ provider: 'openai', ...target.openai });
          model = createOpenAIModel({ name: target.name, config: mc, apiKey: resolveApiKey(mc, env), cache });
          priced = { provider: 'openai', model: target.openai.model };
        } else {
          model = await deps.clients.model(config, target.configModel!);
          const mc = config.models[target.configModel!];
          priced = { provider: mc.provider, model: mc.model };
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
        const worker = async () => {
          while (next < questions.length && !signal.aborted) {
            const i = next++;
            const q = questions[i];
            const rel = `${runDir}/${q.id.replace(/[^A-Za-z0-9._-]/g, '_')}.json`;
            if (await store.exists(rel)) {
              records[i] = await store.readJson<TrajectoryRecord>(rel);
            } else {
              const result = await runAgentEpisode({
                question: q,
                method: target.method,
                model,
                search,
                score: (p, a) => task.score(p, a),
                options: {
                  maxSteps: evalConfig.maxSteps,
                  maxMalformedRetries: config.generate.maxMalformedRetries,
                  reflexion: config.generate.reflexion,
                  fewShot: config.generate.fewShot,
                  prompt: target.prompt,
                },
                signal,
              });
              records[i] = {
                schema: TRAJECTORY_SCHEMA,
                id: trajectoryId(input.task, target.method, q.id),
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

        const prices = mergePrices(config.prices);
        const outcomes: EpisodeOutcome[] = records.map((r) => ({
          reward: r.reward,
          metrics: r.metrics,
          finished: r.finished,
          validActions: r.turns.filter((t) => t.role === 'assistant').length,
          totalActions: r.turns.filter((t) => t.role === 'assistant').length + r.malformed,
          steps: r.steps,
          promptTokens: r.usage.promptTokens,
          completionTokens: r.usage.completionTokens,
          costUsd: estimateCost(priced, { promptTokens: r.usage.promptTokens - 0, completionTokens: r.usage.completionTokens }, prices).usd,
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
        return row;
      } finally {
        heartbeat.stop();
        await served?.stop();
      }
    },
  };
}
