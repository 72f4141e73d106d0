// Finding a generation episode's stored trajectory, here or where an earlier release put it.
import type { MethodName } from '../../core/config';
import { trajectoryId, type Question, type TrajectoryRecord } from '../../core/trajectory';
import type { ArtifactStore } from '../artifacts/store';
import { layout } from './layout';

export interface StoredTrajectory {
  record: TrajectoryRecord;
  /** Found only at the pre-split path (`trajectories/<task>/<method>/<id>.json`), not yet copied to its own. */
  legacy: boolean;
}

async function readOrUndefined(store: ArtifactStore, rel: string): Promise<TrajectoryRecord | undefined> {
  if (!(await store.exists(rel))) return undefined;
  try {
    return await store.readJson<TrajectoryRecord>(rel);
  } catch {
    return undefined; // unreadable: the episode runs again (the cache answers the calls already paid)
  }
}

/**
 * The stored trajectory of (question, method) in experiment `exp`, or undefined. Releases before
 * splits were named wrote `<task>/<method>/<id>.json`, shared by every split of a task; such a file
 * is taken (with its id renamed) only when the question recorded inside it is this one, same split,
 * row and text, so an experiment of the previous release resumed with `--new` or reset pays nothing
 * again, and the other split of a task whose file a first split wrote is run, never handed that file.
 */
export async function findTrajectory(store: ArtifactStore, exp: string, question: Question, method: MethodName): Promise<StoredTrajectory | undefined> {
  const id = trajectoryId(question, method);
  const current = await readOrUndefined(store, layout.trajectory(exp, question, method));
  if (current?.id === id) return { record: current, legacy: false };
  const old = await readOrUndefined(store, layout.legacyTrajectory(exp, question, method));
  const q = old?.question;
  if (old && old.method === method && q?.task === question.task && q.split === question.split && q.id === question.id && q.text === question.text) {
    return { record: { ...old, id }, legacy: true };
  }
  return undefined;
}
