// Generation questions that are also evaluation questions. Curation drops their trajectories as
// eval-split leaks after they were paid for (or, with curate.excludeEvalQuestions off, students are
// trained on the questions they are then evaluated on), so plan, validate and start catch them first.
import type { ExperimentConfig, MethodName, TaskName } from '../../core/config';
import type { Question } from '../../core/trajectory';
import { loadEvalQuestions } from '../curate/eval-questions';
import { normalizeQuestion } from '../curate/normalize';
import type { ClientProvider } from '../experiment/clients';
import { planSample } from './samples';

export interface GenerationSample {
  entry: number;
  task: TaskName;
  split: string;
  methods: MethodName[];
  questions: Question[];
}

/** Adds a problem (or, for a partial overlap curation cleans up, a warning) per generation entry that overlaps. */
export async function checkEvalOverlap(
  config: ExperimentConfig,
  clients: ClientProvider,
  generation: readonly GenerationSample[],
  out: { problems: string[]; warnings: string[] },
): Promise<void> {
  if (!generation.some((g) => g.questions.length)) return;
  // Unreadable eval splits are reported by the sample checks; here they just hold nothing.
  const evalQuestions = await loadEvalQuestions(config.dataDir, () => undefined);
  for (const [i, et] of (config.evaluate?.tasks ?? []).entries()) {
    const planned = await planSample(clients, config, et, 'evaluate.tasks', i);
    for (const q of planned.questions) evalQuestions.set(normalizeQuestion(q.text), `${et.task} ${et.split}`);
  }
  for (const g of generation) {
    const where = `generate.tasks.${g.entry} (${g.task} ${g.split})`;
    const hits = g.questions.map((q) => evalQuestions.get(normalizeQuestion(q.text))).filter((h): h is string => h !== undefined);
    if (!hits.length) continue;
    const splits = [...new Set(hits)].join(', ');
    const n = g.questions.length;
    const episodes = hits.length * g.methods.length;
    if (!config.curate.excludeEvalQuestions) {
      out.problems.push(
        `${where}: ${hits.length} of ${n} questions are also evaluation questions (${splits}) and curate.excludeEvalQuestions is off: students would be trained on questions they are evaluated on`,
      );
    } else if (hits.length === n) {
      out.problems.push(
        `${where}: all ${n} questions are evaluation questions (${splits}): all ${episodes} episodes would be paid for, then dropped by curation as eval-split leaks; generate on a split that is not evaluated on`,
      );
    } else {
      out.warnings.push(
        `${where}: ${hits.length} of ${n} questions are also evaluation questions (${splits}); curation drops their ${episodes} episode${episodes === 1 ? '' : 's'} as eval-split leaks after they are paid for`,
      );
    }
  }
}
