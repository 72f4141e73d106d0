// The activity factory: assembles each stage's activities from the clients it is given.
// Workflows type their proxies from `Activities` so a renamed activity breaks the build, not a run.
import { createClientProvider, type ClientProvider } from '../lib/experiment/clients';
import { createFrozenState } from '../lib/experiment/frozen';
import { createTrainerPythonResolver } from '../lib/finetune/local/trainer-process';
import { createCurateActivities } from './curate';
import { createDatasetActivities } from './datasets';
import { createBatchActivities } from './batch';
import { createCacheSync, createEpisodeActivities, createEpisodePlayer } from './episode';
import { createEvaluateActivities } from './evaluate';
import { createLocalFineTuneActivities } from './finetune-local';
import { createHostedFineTuneActivities } from './finetune-hosted';
import { createPrepareActivities } from './prepare';
import { createReportActivities } from './report';

export interface ActivityDeps {
  clients?: ClientProvider;
  env?: NodeJS.ProcessEnv;
  /** The trainer's python (default: scripts/setup-trainer.sh makes or finds its environment). */
  python?: () => Promise<string>;
}

export function createActivities(deps: ActivityDeps = {}) {
  const env = deps.env ?? process.env;
  const clients = deps.clients ?? createClientProvider(env);
  // One frozen state per worker: every stage reads the same memoised config and samples.
  const frozen = createFrozenState(clients);
  const python = deps.python ?? createTrainerPythonResolver(env);
  // The synchronous episode activity and the batch rounds play episodes with the same code.
  const playEpisode = createEpisodePlayer({ clients, frozen });
  const syncCaches = createCacheSync({ clients, frozen });
  return {
    ...createPrepareActivities({ clients, env }),
    ...createEpisodeActivities({ playEpisode, syncCaches }),
    ...createBatchActivities({ clients, frozenConfig: frozen.config, playEpisode, env }),
    ...createCurateActivities({ clients, frozen }),
    ...createDatasetActivities({ clients, frozen }),
    ...createReportActivities({ clients, frozen }),
    ...createLocalFineTuneActivities({ python, env }),
    ...createHostedFineTuneActivities({ env }),
    ...createEvaluateActivities({ clients, frozen, python, env }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
