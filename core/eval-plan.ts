// Which evaluation runs an experiment makes, from what fine-tuning produced. FireActExperiment calls
// this with the real fine-tune outcomes and `fireact plan` with the outcomes it expects, so the two
// cannot list different runs. Pure (no Node APIs, no activity imports): workflow code runs it.
import type { MethodName, TaskName } from './config';

export type EvalKind = 'student' | 'base' | 'teacher';
export type EvalNoise = 'none' | 'empty' | 'random';

/** One model answering with one method (structurally the EvalTarget that evaluateModel takes). */
export interface EvalPlanTarget {
  /** Row label in the report, e.g. "tiny@multitask-multimethod". */
  name: string;
  kind: EvalKind;
  method: MethodName;
  /** 'student': zero-shot in the training format; 'few-shot': the method's prompt with exemplars. */
  prompt: 'student' | 'few-shot';
  /** A model from config.models (prompted baselines). */
  configModel?: string;
  local?: { modelDir: string; adapterDir: string | null };
  openai?: { model: string; baseUrl?: string; apiKeyEnv?: string };
}

/** What evaluation needs of one fine-tune outcome (a FineTuneOutcome will do). */
export interface TrainedStudent {
  student: string;
  dataset: string;
  local?: { modelDir: string; adapterDir: string | null; baseModelDir: string };
  openai?: { model: string; baseUrl?: string; apiKeyEnv?: string };
}

export interface EvalBaseline {
  model: string;
  methods: MethodName[];
  kind: 'teacher' | 'base';
}

export interface EvalTargetsInput {
  /** The configured students (for their evalMethods). */
  students: ReadonlyArray<{ name: string; evalMethods: readonly MethodName[] }>;
  /** Fine-tune outcomes, in the order the fine-tune stage returned them. */
  trained: readonly TrainedStudent[];
  baselines: readonly EvalBaseline[];
  /** Also evaluate each local student's base model, once per student and method. */
  baseModels: boolean;
}

/** A prompted baseline is the teacher when it names the generate teacher, else a base model. */
export function evalBaselines(baselines: ReadonlyArray<{ model: string; methods: MethodName[] }>, teacher: string): EvalBaseline[] {
  return baselines.map((b) => ({ ...b, kind: b.model === teacher ? 'teacher' : 'base' }));
}

/** The name a fine-tuned student's evaluations and report rows carry. */
export function studentModelName(student: string, dataset: string): string {
  return `${student}@${dataset}`;
}

/**
 * Each trained student × its evalMethods (followed, for a local student, by its base model the first
 * time that student and method come up), then each baseline × its methods.
 */
export function evalTargets(input: EvalTargetsInput): EvalPlanTarget[] {
  const targets: EvalPlanTarget[] = [];
  const baseDone = new Set<string>();
  for (const o of input.trained) {
    const student = input.students.find((s) => s.name === o.student);
    if (!student) throw new Error(`fine-tune outcome for unknown student "${o.student}"`);
    for (const method of student.evalMethods) {
      const target: EvalPlanTarget = { name: studentModelName(o.student, o.dataset), kind: 'student', method, prompt: 'student' };
      if (o.local) target.local = { modelDir: o.local.modelDir, adapterDir: o.local.adapterDir };
      if (o.openai) target.openai = o.openai;
      targets.push(target);
      if (input.baseModels && o.local && !baseDone.has(`${o.student}/${method}`)) {
        baseDone.add(`${o.student}/${method}`);
        targets.push({ name: `${o.student}-base`, kind: 'base', method, prompt: 'student', local: { modelDir: o.local.baseModelDir, adapterDir: null } });
      }
    }
  }
  for (const b of input.baselines) {
    for (const method of b.methods) targets.push({ name: b.model, kind: b.kind, method, prompt: 'few-shot', configModel: b.model });
  }
  return targets;
}

export interface EvalRunSpec<S> {
  target: EvalPlanTarget;
  sample: S;
  noise: EvalNoise;
}

/** Every target on every eval sample under every tool-noise setting, in that nesting order. */
export function evalRuns<S>(targets: readonly EvalPlanTarget[], samples: readonly S[], toolNoise: readonly EvalNoise[]): Array<EvalRunSpec<S>> {
  return targets.flatMap((target) => samples.flatMap((sample) => toolNoise.map((noise) => ({ target, sample, noise }))));
}

/** The run's name under `<experiment>/evaluate/` (its child workflow id). The split is not in it. */
export function evalRunName(target: Pick<EvalPlanTarget, 'name' | 'method'>, task: TaskName, noise: EvalNoise, split?: string): string {
  // The split tells apart two eval entries of one task (e.g. HotpotQA dev and test); runs recorded
  // before it was added keep their old names (see the 'eval-id-split' patch in the experiment).
  return `${target.name}-${task}${split === undefined ? '' : `-${split}`}-${target.method}${noise === 'none' ? '' : `-${noise}`}`;
}
