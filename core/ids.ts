// Deterministic, readable ids for the Temporal UI (`<experiment>/generate/hotpotqa-dev-react-3`), and
// the one rule for experiment ids, which name the experiment's artifact folder.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { MethodName, TaskName } from './config';

export const TASK_QUEUE = 'fireact';
export const GPU_TASK_QUEUE = 'fireact-gpu';
export const WORKFLOW_TYPE = 'FireActExperiment';
/** Keyword search attribute holding the experiment's current stage. */
export const STAGE_SEARCH_ATTRIBUTE = 'FireActStage';
/** The same attribute as a typed key, for upserts (workflow) and reads (client). */
export const STAGE_SEARCH_KEY = defineSearchAttributeKey(STAGE_SEARCH_ATTRIBUTE, SearchAttributeType.KEYWORD);

/** Longest experiment id: its folder name, and the `-r<N>` that `fireact resume --new` appends, stay far below NAME_MAX (255). */
const EXPERIMENT_ID_MAX = 100;
const EXPERIMENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const EXPERIMENT_ID_FORM = `1 to ${EXPERIMENT_ID_MAX} characters: letters, digits, ".", "_" and "-", starting with a letter or digit`;

/**
 * Why `id` cannot name an experiment, or undefined when it can. An allowed id is its own folder name,
 * so two ids never share a folder. (On a case-insensitive file system `Run1` and `run1` would;
 * prepare refuses an id whose folder differs from an existing one only in case.)
 */
export function experimentIdProblem(id: string): string | undefined {
  const shown = id.length > 60 ? `${id.slice(0, 60)}…` : id;
  const bad = [...new Set(id.replace(/[A-Za-z0-9._-]/g, ''))];
  let why: string | undefined;
  if (id.length === 0) why = 'it is empty';
  else if (id.length > EXPERIMENT_ID_MAX) why = `it is ${id.length} characters long`;
  else if (bad.length) why = `it contains ${bad.map((c) => JSON.stringify(c)).join(', ')}`;
  else if (!EXPERIMENT_ID.test(id)) why = `it starts with ${JSON.stringify(id[0])}`;
  return why && `experiment id ${JSON.stringify(shown)} is not allowed (${why}); an experiment id is ${EXPERIMENT_ID_FORM}`;
}

/**
 * The experiment's folder in the artifact store. Allowed ids map to themselves; the replacement only
 * matters for experiments started before ids were checked, whose activities still find their folder.
 */
export function experimentDir(experiment: string): string {
  return pathSegment(experiment);
}

/** The one path-cleaning rule: a name as one file or folder name, every character but [A-Za-z0-9._-] as "_". */
export function pathSegment(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** A shard's name: the split is in it, so two splits of one task and method never share a shard. */
export function shardName(task: TaskName, split: string, method: MethodName, shard: number): string {
  return `${task}-${split}-${method}-${shard}`;
}

/** `split` undefined gives the id of experiments recorded before shards named their split (patch 'shard-id-split'). */
export function shardWorkflowId(experiment: string, task: TaskName, split: string | undefined, method: MethodName, shard: number): string {
  return `${experiment}/generate/${split === undefined ? `${task}-${method}-${shard}` : shardName(task, split, method, shard)}`;
}

/** FNV-1a, 32 bit: a stable short hash usable in workflow code (no crypto there). */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** FNV-1a, 64 bit (BigInt, still deterministic in workflow code). */
function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

/**
 * One key part with "." (the separator) and every character outside [A-Za-z0-9-] escaped: "_" is "__",
 * anything else "_" and four hex digits. Decodable, so distinct parts give distinct keys.
 */
function keyPart(part: string): string {
  return part.replace(/[^A-Za-z0-9-]/g, (c) => (c === '_' ? '__' : `_${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/**
 * The idempotency key of a remote fine-tuning job: 1-64 of [A-Za-z0-9._-], the same on every retry,
 * and distinct for distinct (experiment, student, dataset). Too long to spell out, it keeps a readable
 * head and a 64-bit hash of the exact parts.
 */
export function fineTuneKey(experiment: string, student: string, dataset: string): string {
  const spelled = [experiment, student, dataset].map(keyPart).join('.');
  return spelled.length <= 64 ? spelled : `${spelled.slice(0, 47)}-${fnv1a64(JSON.stringify([experiment, student, dataset]))}`;
}

/**
 * The key form used before fineTuneKey was made injective ("a.b"+"c" and "a"+"b.c" gave the same key).
 * Only for finding jobs that runs started under it already created; never for creating one.
 */
export function legacyFineTuneKey(experiment: string, student: string, dataset: string): string {
  const whole = `${experiment}.${student}.${dataset}`;
  const safe = pathSegment(whole);
  return safe.length <= 64 ? safe : `${safe.slice(0, 55)}-${fnv1a(whole)}`;
}
