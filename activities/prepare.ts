// Stage prepare: validate the config and the experiment id, check secrets by name, then freeze config
// and question samples and plan the shards (lib/experiment/prepare.ts).
import { log } from '@temporalio/activity';
import { batchSettings, missingKeyEnv, parseExperimentConfig, type ExperimentConfig } from '../core/config';
import { ErrorType, typedFailure } from '../core/errors';
import { experimentIdProblem } from '../core/ids';
import { isHostedFineTune } from '../core/names';
import type { ClientProvider } from '../lib/experiment/clients';
import { outputFolderProblems, resolveConfigPaths } from '../lib/experiment/config-file';
import { experimentDir } from '../lib/experiment/layout';
import { caseTwin, freezeExperiment, parallelism } from '../lib/experiment/prepare';
import { resolveApiKey } from '../lib/models/openai-model';
import type { PrepareResult } from './contracts';

export function createPrepareActivities(deps: { clients: ClientProvider; env: NodeJS.ProcessEnv }) {
  const { clients, env } = deps;
  return {
    /** Validates the config, checks data and secrets, freezes the question sample and plans the shards. */
    async prepareExperiment(input: { experiment: string; config: unknown }): Promise<PrepareResult> {
      // The id names the artifact folder: refuse one that cannot, before anything is written or spent.
      const idProblem = experimentIdProblem(input.experiment);
      if (idProblem) throw typedFailure({ type: ErrorType.InvalidExperimentId, message: idProblem, nonRetryable: true });
      let config: ExperimentConfig;
      try {
        config = resolveConfigPaths(parseExperimentConfig(input.config));
      } catch (err) {
        throw typedFailure({ type: ErrorType.InvalidConfig, message: (err as Error).message, nonRetryable: true });
      }
      const folders = await outputFolderProblems(config);
      if (folders.length) throw typedFailure({ type: ErrorType.InvalidConfig, message: folders.join('; '), nonRetryable: true });
      // Secrets are checked before anything is spent; only the variable's name is ever reported.
      for (const [name, mc] of Object.entries(config.models)) {
        if (mc.provider === 'openai') {
          try {
            resolveApiKey(mc, env);
          } catch (err) {
            throw typedFailure({ type: ErrorType.MissingSecret, message: `model "${name}": ${(err as Error).message}`, nonRetryable: true });
          }
        }
      }
      for (const st of config.students) {
        const missing = isHostedFineTune(st.backend) ? missingKeyEnv(st, env) : undefined;
        if (missing) {
          throw typedFailure({
            type: ErrorType.MissingSecret,
            message: `student "${st.name}": the environment variable ${missing} is not set on the worker`,
            nonRetryable: true,
          });
        }
      }
      const store = clients.store(config);
      const exp = input.experiment;
      const twin = await caseTwin(store, experimentDir(exp));
      if (twin) {
        throw typedFailure({
          type: ErrorType.InvalidExperimentId,
          message: `experiment id "${exp}" differs only in case from the folder of experiment "${twin}" in ${config.artifactDir}; on a case-insensitive file system they would share it, so pick another id`,
          nonRetryable: true,
        });
      }
      const frozen = await freezeExperiment(clients, store, config, exp);
      const { shards, questions, episodes, replaySkipped } = frozen;
      const teacher = config.models[config.generate.teacher];
      log.info('experiment prepared', { experiment: exp, questions, episodes, shards: shards.length });
      return {
        handle: { experiment: exp, artifactDir: config.artifactDir, configSha: frozen.config.sha256, blockedAfterMs: config.blockedAfterSeconds * 1000 },
        shards,
        samples: frozen.samples,
        questions,
        episodes,
        replayedTeacher: teacher.provider === 'replay',
        replaySkipped,
        concurrency: parallelism(config),
        continueAsNewAfterEvents: config.generate.continueAsNewAfterEvents,
        teacher: { name: config.generate.teacher, model: teacher.model, provider: teacher.provider },
        students: config.students,
        evaluation: config.evaluate
          ? {
              samples: frozen.evalSamples,
              baselines: config.evaluate.baselines.map((b) => ({ ...b, kind: b.model === config.generate.teacher ? ('teacher' as const) : ('base' as const) })),
              baseModels: config.evaluate.baseModels,
              toolNoise: config.evaluate.toolNoise,
              maxParallel: config.evaluate.maxParallel,
            }
          : null,
        name: config.name,
        description: config.description,
        budget: frozen.budget,
        ...(config.generate.mode === 'batch' ? { batch: { poll: { minSeconds: batchSettings(config).pollMinSeconds, maxSeconds: batchSettings(config).pollMaxSeconds } } } : {}),
      };
    },
  };
}
