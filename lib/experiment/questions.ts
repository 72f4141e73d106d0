// Questions for a (task, split): the data directory's splits, or the derived "fireact" split of
// questions that the FireAct recordings cover (gold = the recorded finish with a positive reward).
import type { ExperimentConfig, TaskName } from '../../core/config';
import type { Question } from '../../core/trajectory';
import { REPLAY_SPLIT, REPLAY_SPLITS } from '../replay/library';
import { loadSplit } from '../tasks/registry';
import type { ClientProvider } from './clients';

export async function loadQuestions(clients: ClientProvider, config: ExperimentConfig, task: TaskName, split: string): Promise<Question[]> {
  if (!REPLAY_SPLITS.includes(split)) return loadSplit(config.dataDir, task, split);
  const teacher = config.models[config.generate.teacher];
  const files = teacher?.provider === 'replay' ? teacher.replayFiles : undefined;
  const method = split === REPLAY_SPLIT ? undefined : split.slice(REPLAY_SPLIT.length + 1);
  return (await clients.replayLibrary(config, files)).questions(task, method);
}
