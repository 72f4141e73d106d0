// Lookup structures over the recordings: the replayed teacher, the replayed search engine, the
// derived "fireact" split (questions the recordings cover) and the default local-search corpus.
import { createHash } from 'node:crypto';
import type { TaskName } from '../../core/config';
import { ErrorType, typedFailure, type TypedFailure } from '../../core/errors';
import type { Question } from '../../core/trajectory';
import { parseAction } from '../agent/actions';
import { memoise } from '../cache/memo';
import { loadRecordings, questionKey, recordingKey, type Recording, type RecordingSet } from './recordings';

/** `fireact`: every question the recordings cover; `fireact-<method>`: those with a recording of that method. */
export const REPLAY_SPLIT = 'fireact';
export const REPLAY_SPLITS = [REPLAY_SPLIT, ...(['io', 'cot', 'react', 'reflexion'] as const).map((m) => `${REPLAY_SPLIT}-${m}`)];

export interface ReplayLibrary {
  set: RecordingSet;
  find(task: string, method: string, questionText: string): Recording | undefined;
  /** The observation recorded for this query: first in this question's recordings, then in any. */
  observationFor(query: string, questionText?: string): string | undefined;
  questions(task: TaskName, method?: string): Question[];
  /** Every distinct recorded search snippet (the default corpus of the local search). */
  snippets(): string[];
}

function questionId(text: string): string {
  return createHash('sha256').update(questionKey(text)).digest('hex').slice(0, 12);
}

export function buildReplayLibrary(set: RecordingSet): ReplayLibrary {
  const byKey = new Map<string, Recording>();
  const byQuestionQuery = new Map<string, string>();
  const byQuery = new Map<string, string>();
  const questionsByTask = new Map<TaskName, Map<string, Question>>();
  const methodsById = new Map<string, Set<string>>();
  const snippets = new Set<string>();

  for (const rec of set.recordings) {
    byKey.set(recordingKey(rec.task, rec.method, rec.questionText), rec);
    rec.assistantTurns.forEach((turn, i) => {
      const act = parseAction(turn);
      if (act?.action.type !== 'search') return;
      const obs = rec.observations[i];
      const q = questionKey(act.action.arg);
      const qq = `${questionKey(rec.questionText)}\u0000${q}`;
      if (!byQuestionQuery.has(qq)) byQuestionQuery.set(qq, obs);
      if (!byQuery.has(q)) byQuery.set(q, obs);
      snippets.add(obs);
    });
    const tq = questionsByTask.get(rec.task) ?? new Map<string, Question>();
    questionsByTask.set(rec.task, tq);
    const id = questionId(rec.questionText);
    const methods = methodsById.get(`${rec.task}/${id}`) ?? new Set<string>();
    methods.add(rec.method);
    methodsById.set(`${rec.task}/${id}`, methods);
    const existing = tq.get(id);
    if (!existing) {
      tq.set(id, { task: rec.task, split: REPLAY_SPLIT, id, text: rec.questionText, answers: rec.gold ? [rec.gold] : [] });
    } else if (rec.gold && !existing.answers.includes(rec.gold)) {
      existing.answers.push(rec.gold);
    }
  }
  const sortedQuestions = new Map<TaskName, Question[]>();
  for (const [task, m] of questionsByTask) sortedQuestions.set(task, [...m.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));

  return {
    set,
    find: (task, method, text) => byKey.get(recordingKey(task, method, text)),
    observationFor(query, questionText) {
      const q = questionKey(query);
      if (questionText !== undefined) {
        const hit = byQuestionQuery.get(`${questionKey(questionText)}\u0000${q}`);
        if (hit !== undefined) return hit;
      }
      return byQuery.get(q);
    },
    questions: (task, method) =>
      (sortedQuestions.get(task) ?? [])
        .filter((q) => method === undefined || methodsById.get(`${task}/${q.id}`)?.has(method))
        .map((q) => ({ ...q, split: method ? `${REPLAY_SPLIT}-${method}` : REPLAY_SPLIT })),
    snippets: () => [...snippets].sort(),
  };
}

/** Loads and memoises libraries per process: workers reuse one across activities. */
export function createReplayLibraryCache() {
  const cache = new Map<string, Promise<ReplayLibrary>>();
  return (dataDir: string, files: readonly string[]): Promise<ReplayLibrary> => {
    return memoise(cache, `${dataDir}\u0000${files.join(',')}`, () => loadRecordings(dataDir, files).then(buildReplayLibrary));
  };
}

export function replayMiss(message: string): TypedFailure {
  return typedFailure({ type: ErrorType.ReplayMiss, message, nonRetryable: true });
}
