// The fine-tune stage before it runs: one job per (student, dataset mix), with how many examples can
// reach it, how many tokens it trains on, and what an OpenAI job costs. The records a mix will hold are
// known only after generation and curation, so example counts are upper bounds.
import type { ExperimentConfig, MethodName, StudentConfig, TaskName } from '../../core/config';
import type { TrainedStudent } from '../../core/eval-plan';
import { isHostedFineTune, type HostedFineTuneBackendName } from '../../core/names';
import { estimateTrainingCost, type PriceFlag, type PriceTable } from '../../core/prices';
import { localStepsPerEpoch, openAIAutoEpochs, type Range } from './estimates';

/** The generate runs a mix draws from, with the size of one training conversation from each. */
export interface MixSource {
  task: TaskName;
  method: MethodName;
  episodes: number;
  trainingExampleTokens: Range;
}

export interface PlannedFineTune {
  student: string;
  dataset: string;
  backend: StudentConfig['backend'];
  baseModel: string;
  /** Upper bound: every generated episode of the mix's tasks × methods (capped by maxRecords) survives curation. */
  examplesAtMost: number;
  /** Tokens of one training conversation: typical (recorded lengths), upper (curation's caps; local: maxLen). */
  tokensPerExample: Range;
  /** examplesAtMost × tokensPerExample. */
  tokensPerEpoch: Range;
  epochs: number;
  /** Where `epochs` comes from: the student's epochs or nEpochs, OpenAI's "auto" rule, or (local) maxSteps over steps per epoch. */
  epochsFrom: 'epochs' | 'nEpochs' | 'auto' | 'maxSteps';
  trainingTokens: Range;
  costUsd: Range;
  priceKey?: string;
  flags: PriceFlag[];
  /** A hosted backend's name: billed by its service; 'own': trained on the GPU worker, not priced. */
  hardware: HostedFineTuneBackendName | 'own';
  local?: {
    mode: StudentConfig['mode'];
    gpus: number;
    batchSize: number;
    gradAccum: number;
    maxLen: number;
    packing: boolean;
    /** Optimizer steps per epoch at examplesAtMost (fewer with packing). */
    stepsPerEpochAtMost: number;
    /** maxSteps when set, else epochs × stepsPerEpochAtMost. */
    totalStepsAtMost: number;
    /** baseModel "init": a tiny model built from `init`, for the pipeline, not for its answers. */
    tinyDemoModel: boolean;
  };
}

/** One job of the fine-tune stage, and the outcome it is expected to hand to evaluation. */
export interface ExpectedFineTune {
  student: StudentConfig;
  dataset: string;
  /** Placeholder locations: the real directories and model names exist only after training. */
  outcome: TrainedStudent;
}

/** The fine-tune stage's jobs in the order it runs and returns them: each student × its datasets. */
export function expectedFineTunes(config: Pick<ExperimentConfig, 'students'>): ExpectedFineTune[] {
  return config.students.flatMap((student) =>
    student.datasets.map((dataset): ExpectedFineTune => {
      if (isHostedFineTune(student.backend)) {
        const openai: NonNullable<TrainedStudent['openai']> = { model: `ft:${student.baseModel}` };
        if (student.baseUrl) openai.baseUrl = student.baseUrl;
        if (student.apiKeyEnv) openai.apiKeyEnv = student.apiKeyEnv;
        return { student, dataset, outcome: { student: student.name, dataset, openai } };
      }
      const baseModelDir = student.baseModel === 'init' ? `<models>/${student.name}-base` : student.baseModel;
      const out = `<models>/${student.name}-${dataset}`;
      const local = student.mode !== 'full' ? { modelDir: baseModelDir, adapterDir: out, baseModelDir } : { modelDir: out, adapterDir: null, baseModelDir };
      return { student, dataset, outcome: { student: student.name, dataset, local } };
    }),
  );
}

export interface FineTunePlanInput {
  config: ExperimentConfig;
  prices: PriceTable;
  /** Per dataset mix, the generate runs it draws from. */
  sources: (mix: string) => MixSource[];
  warnings: string[];
}

export function planFineTunes(input: FineTunePlanInput): PlannedFineTune[] {
  const { config, prices } = input;
  return expectedFineTunes(config).map(({ student, dataset }): PlannedFineTune => {
    const mix = config.datasets.find((d) => d.name === dataset)!;
    const sources = input.sources(dataset);
    const episodes = sources.reduce((s, r) => s + r.episodes, 0);
    const examples = Math.min(episodes, mix.maxRecords ?? Infinity);
    const typical = episodes === 0 ? 0 : Math.round(sources.reduce((s, r) => s + r.episodes * r.trainingExampleTokens.typical, 0) / episodes);
    const upper = sources.reduce((m, r) => Math.max(m, r.trainingExampleTokens.upper), 0);
    const base = { student: student.name, dataset, backend: student.backend, baseModel: student.baseModel, examplesAtMost: examples };

    if (isHostedFineTune(student.backend)) {
      const perExample = { typical, upper };
      const tokensPerEpoch = { typical: examples * typical, upper: examples * upper };
      // OpenAI's "auto" rule stands in for any service that picks the epochs itself.
      const epochs = student.nEpochs ?? openAIAutoEpochs(examples);
      const priced = { provider: student.backend, model: student.baseModel };
      const t = estimateTrainingCost(priced, tokensPerEpoch.typical, epochs, prices);
      const u = estimateTrainingCost(priced, tokensPerEpoch.upper, epochs, prices);
      if (t.flags.includes('unpriced')) {
        input.warnings.push(`student "${student.name}": no training price known for "${student.baseModel}"; add one under prices."${student.baseModel}".training`);
      }
      return {
        ...base,
        tokensPerExample: perExample,
        tokensPerEpoch,
        epochs,
        epochsFrom: student.nEpochs !== undefined ? 'nEpochs' : 'auto',
        trainingTokens: { typical: tokensPerEpoch.typical * epochs, upper: tokensPerEpoch.upper * epochs },
        costUsd: { typical: t.usd, upper: u.usd },
        ...(t.priceKey ? { priceKey: t.priceKey } : {}),
        flags: t.flags,
        hardware: student.backend,
      };
    }

    // The trainer truncates every conversation to maxLen tokens (its own tokenizer; close enough here).
    const perExample = { typical: Math.min(typical, student.maxLen), upper: Math.min(upper, student.maxLen) };
    const tokensPerEpoch = { typical: examples * perExample.typical, upper: examples * perExample.upper };
    const stepsPerEpoch = localStepsPerEpoch(examples, student);
    const totalSteps = student.maxSteps ?? student.epochs * stepsPerEpoch;
    const epochs = student.maxSteps !== undefined ? (stepsPerEpoch === 0 ? 0 : Math.round((student.maxSteps / stepsPerEpoch) * 100) / 100) : student.epochs;
    return {
      ...base,
      tokensPerExample: perExample,
      tokensPerEpoch,
      epochs,
      epochsFrom: student.maxSteps !== undefined ? 'maxSteps' : 'epochs',
      trainingTokens: { typical: Math.round(tokensPerEpoch.typical * epochs), upper: Math.round(tokensPerEpoch.upper * epochs) },
      costUsd: { typical: 0, upper: 0 },
      flags: ['unpriced'],
      hardware: 'own',
      local: {
        mode: student.mode,
        gpus: student.gpus,
        batchSize: student.batchSize,
        gradAccum: student.gradAccum,
        maxLen: student.maxLen,
        packing: student.packing,
        stepsPerEpochAtMost: stepsPerEpoch,
        totalStepsAtMost: totalSteps,
        tinyDemoModel: student.baseModel === 'init',
      },
    };
  });
}
