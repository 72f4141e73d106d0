// The one experiment config schema. Workflows import it too, so it stays pure (zod only, no Node APIs).
import { z } from 'zod';
import { STUDENT_TRAINING_FORMAT, type DatasetFormat } from './artifacts';
import { DEFAULT_BLOCKED_AFTER_SECONDS } from './blocked';
import { pathSegment } from './ids';
import { BudgetSchema } from './budget';
import { METHOD_NAMES, type MethodName } from './methods';
import { FINETUNE_BACKENDS, isHostedFineTune, MODEL_PROVIDERS, SEARCH_BACKENDS, TASK_NAMES, type TaskName } from './names';
import { batchDiscount, PriceTableSchema, type PricedModel } from './prices';

export type { MethodName, TaskName };

const DATASET_FORMATS = ['openai', 'alpaca'] as const satisfies readonly DatasetFormat[];
export const SAMPLE_ORDERS = ['seeded', 'fireact', 'file'] as const;
const TOOL_NOISE = ['none', 'empty', 'random'] as const;
/** fireact: the authors' answer checks, exactly; lenient: ours, which find a yes/no or a letter anywhere. */
export const SCORING_RULES = ['lenient', 'fireact'] as const;

export type ScoringRule = (typeof SCORING_RULES)[number];

const name = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" and "-" only');

/** Names the worker's environment variable that holds a key; the key itself never enters config or history. */
const envVarName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/);

/** The search backend serpapi reads its key from this variable when the config names none. */
const DEFAULT_SERPAPI_KEY_ENV = 'SERPAPI_API_KEY';

/** The answer checks used for a task the config's `scoring` does not name. */
export const DEFAULT_SCORING_RULE: ScoringRule = 'lenient';

/**
 * The one apiKeyEnv rule for an OpenAI-compatible endpoint: the key is read from `apiKeyEnv`; without it
 * the endpoint must be a keyless one at `baseUrl` (vLLM, Ollama, llama.cpp). Undefined: neither, a config error.
 */
export function endpointKey(endpoint: { apiKeyEnv?: string; baseUrl?: string }): { env: string } | 'keyless' | undefined {
  if (endpoint.apiKeyEnv) return { env: endpoint.apiKeyEnv };
  return endpoint.baseUrl ? 'keyless' : undefined;
}

/** Where the FireAct data is, against the directory the CLI runs in (or the config file's folder). */
export const DEFAULT_DATA_DIR = '../shared/fireact';

/** The variable holding an endpoint's key when `env` lacks it (undefined: set, or a keyless endpoint). */
export function missingKeyEnv(endpoint: { apiKeyEnv?: string; baseUrl?: string }, env: Readonly<Record<string, string | undefined>>): string | undefined {
  const key = endpointKey(endpoint);
  return key && key !== 'keyless' && !env[key.env]?.trim() ? key.env : undefined;
}

/** Requests a model may have in flight unless its config says otherwise. */
const DEFAULT_MAX_CONCURRENCY = 512;

/** An endpoint URL: the clients speak HTTP only, so another scheme (ftp:, file:, a typo) fails here, not on every retry. */
const httpUrl = z
  .url()
  .refine((u) => /^https?:$/i.test(new URL(u).protocol), { error: (iss) => `${JSON.stringify(iss.input)} is not an http:// or https:// URL` });

export const ModelSchema = z
  .object({
    provider: z.enum(MODEL_PROVIDERS),
    /** Model name sent to the endpoint (e.g. gpt-4), or a label for replay. */
    model: z.string().min(1),
    baseUrl: httpUrl.optional(),
    /** See endpointKey. */
    apiKeyEnv: envVarName.optional(),
    /**
     * Ceiling of requests in flight. The limiter starts here and adapts below it (halves on a 429 or
     * replies far slower than usual, grows back per reply), so latency, not the client, is the limit.
     */
    maxConcurrency: z.number().int().positive().max(4096).default(DEFAULT_MAX_CONCURRENCY),
    /** Caps the client stays under (with a 3% margin); a server's x-ratelimit-* headers lower them further. */
    requestsPerMinute: z.number().int().positive().optional(),
    tokensPerMinute: z.number().int().positive().optional(),
    temperature: z.number().min(0).max(2).default(0),
    maxTokens: z.number().int().positive().default(512),
    timeoutMs: z.number().int().positive().default(60_000),
    /** replay: the fine-tuning files (names under <dataDir>/finetune/gpt_format) whose turns are replayed. */
    replayFiles: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.provider === 'openai' && !endpointKey(m)) {
      ctx.addIssue({ code: 'custom', path: ['apiKeyEnv'], message: 'provider "openai" needs apiKeyEnv (or a baseUrl of a keyless endpoint)' });
    }
  });

/** Generation through the Batch API (generate.mode = batch): waits, limits per batch, and what to do with stragglers. */
const BatchSchema = z
  .object({
    /** First status check after creating a batch, then doubling up to pollMaxSeconds. */
    pollMinSeconds: z.number().positive().max(3600).default(30),
    pollMaxSeconds: z.number().positive().max(6 * 3600).default(600),
    /** Per batch input file (OpenAI: 50,000 requests, 200 MB); a larger round is split into several batches. */
    maxRequests: z.number().int().positive().max(50_000).default(50_000),
    maxBytes: z.number().int().positive().max(200 * 1024 * 1024).default(200 * 1024 * 1024),
    /**
     * Stragglers finish synchronously (list price) instead of waiting another batch window: every
     * episode still open after round `syncAfterRound`, or a round of fewer than `syncBelowRequests` requests.
     */
    syncAfterRound: z.number().int().positive().max(1000).optional(),
    syncBelowRequests: z.number().int().min(0).max(50_000).default(0),
    /** Rounds after which a request that keeps failing (expired, errored) is sent synchronously instead. */
    maxRounds: z.number().int().positive().max(1000).default(100),
  })
  .strict()
  .refine((b) => b.pollMaxSeconds >= b.pollMinSeconds, { path: ['pollMaxSeconds'], message: 'must be at least pollMinSeconds' });

export type BatchConfig = z.output<typeof BatchSchema>;
const DEFAULT_BATCH: BatchConfig = BatchSchema.parse({});

const SearchSchema = z
  .object({
    backend: z.enum(SEARCH_BACKENDS),
    /** For replay: where to go when a query was never recorded (default: an empty-result observation). */
    fallback: z.enum(['local', 'none']).default('local'),
    /** local: a JSONL corpus of {title?, text}; default is the snippets recorded in the FireAct files. */
    corpus: z.string().optional(),
    baseUrl: httpUrl.optional(),
    /** serpapi: DEFAULT_SERPAPI_KEY_ENV when left out (see searchKeyEnv). */
    apiKeyEnv: envVarName.optional(),
    maxConcurrency: z.number().int().positive().default(8),
    requestsPerMinute: z.number().int().positive().optional(),
    timeoutMs: z.number().int().positive().default(20_000),
    replayFiles: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict();

const SampleSchema = z
  .object({
    /** Number of questions; omit for the whole split. */
    n: z.number().int().positive().optional(),
    order: z.enum(SAMPLE_ORDERS).default('seeded'),
    seed: z.number().int().optional(),
    /**
     * Splits of the same task whose questions are left out before the sample is taken, keeping the
     * order's sequence (e.g. [dev]: FireAct's StrategyQA dev questions also sit in its train file).
     */
    exclude: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict();

const GenerateTaskSchema = z
  .object({
    task: z.enum(TASK_NAMES),
    split: z.string().min(1),
    methods: z.array(z.enum(METHOD_NAMES)).min(1),
    sample: SampleSchema.prefault({}),
  })
  .strict();

const DatasetMixSchema = z
  .object({
    name,
    tasks: z.array(z.enum(TASK_NAMES)).min(1),
    methods: z.array(z.enum(METHOD_NAMES)).min(1),
    formats: z.array(z.enum(DATASET_FORMATS)).min(1).default(['openai', 'alpaca']),
    /** Cap the number of records (seeded choice); omit for all. */
    maxRecords: z.number().int().positive().optional(),
  })
  .strict();

export const StudentSchema = z
  .object({
    name,
    backend: z.enum(FINETUNE_BACKENDS),
    /**
     * local: a model directory or hub id (loaded as from_pretrained does), or "init" to build a small
     * Llama-architecture model from `init` (no weights can be downloaded offline); openai: the base model.
     */
    baseModel: z.string().min(1),
    init: z
      .object({
        hidden: z.number().int().positive().default(64),
        layers: z.number().int().positive().default(2),
        heads: z.number().int().positive().default(4),
        seed: z.number().int().default(0),
      })
      .strict()
      .prefault({}),
    /** Dataset mixes to train on: one fine-tuned model per mix. */
    datasets: z.array(name).min(1),
    /** The method the student answers with when evaluated (the format it was trained on). */
    evalMethods: z.array(z.enum(METHOD_NAMES)).min(1).default(['react']),
    // local backend
    /** qlora: LoRA on a 4-bit base model. */
    mode: z.enum(['lora', 'qlora', 'full']).default('lora'),
    /** How the GPUs of one run share the model: ddp replicates it, fsdp (full shard) and zero3 shard it. */
    sharding: z.enum(['ddp', 'fsdp', 'zero3']).default('ddp'),
    gradientCheckpointing: z.boolean().default(false),
    lora: z
      .object({ r: z.number().int().positive().default(8), alpha: z.number().positive().default(16), dropout: z.number().min(0).max(1).default(0.05) })
      .strict()
      .prefault({}),
    epochs: z.number().int().positive().default(1),
    maxSteps: z.number().int().positive().optional(),
    learningRate: z.number().positive().default(2e-4),
    batchSize: z.number().int().positive().default(4),
    gradAccum: z.number().int().positive().default(1),
    maxLen: z.number().int().positive().default(1024),
    packing: z.boolean().default(false),
    lossOn: z.enum(['assistant', 'all']).default('assistant'),
    saveEvery: z.number().int().positive().default(50),
    bf16: z.enum(['auto', 'on', 'off']).default('auto'),
    /** GPUs per training run; more than one launches through torchrun. */
    gpus: z.number().int().positive().default(1),
    /** Memory of each of those GPUs in GB (GiB, as cards are sold); plan and validate refuse a run that cannot fit. */
    gpuMemoryGB: z.number().positive().optional(),
    // hosted backends (openai): the endpoint (absent: the service's own), the key variable, the job's settings
    apiKeyEnv: envVarName.optional(),
    baseUrl: httpUrl.optional(),
    nEpochs: z.number().int().positive().optional(),
    learningRateMultiplier: z.number().positive().optional(),
    suffix: z.string().max(40).optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (isHostedFineTune(s.backend) && !endpointKey(s)) {
      ctx.addIssue({ code: 'custom', path: ['apiKeyEnv'], message: `backend "${s.backend}" needs apiKeyEnv (or a baseUrl of a keyless endpoint)` });
    }
    if (isHostedFineTune(s.backend) && s.baseModel === 'init') {
      ctx.addIssue({ code: 'custom', path: ['baseModel'], message: `"init" builds a local model; backend "${s.backend}" needs a base model name of its service` });
    }
  });

const EvaluateSchema = z
  .object({
    /** Eval splits: HotpotQA dev, StrategyQA dev, Bamboogle test, MMLU test by default. */
    tasks: z
      .array(
        z
          .object({
            task: z.enum(TASK_NAMES),
            split: z.string().min(1),
            sample: SampleSchema.prefault({}),
          })
          .strict(),
      )
      .min(1),
    /** Prompted baselines (few-shot): a model from `models` and the methods it answers with. */
    baselines: z
      .array(z.object({ model: name, methods: z.array(z.enum(METHOD_NAMES)).min(1) }).strict())
      .default([]),
    /** Also evaluate each local student's base model with the student's format (the "before" of fine-tuning). */
    baseModels: z.boolean().default(true),
    toolNoise: z.array(z.enum(TOOL_NOISE)).min(1).default(['none']),
    maxSteps: z.number().int().positive().max(50).default(8),
    episodeConcurrency: z.number().int().positive().max(256).default(4),
    maxParallel: z.number().int().positive().max(64).default(2),
    bootstrapSamples: z.number().int().min(100).max(100_000).default(1000),
  })
  .strict();

const ScoringRuleSchema = z.enum(SCORING_RULES);
const ScoringSchema = z.union([
  ScoringRuleSchema,
  z.object(Object.fromEntries(TASK_NAMES.map((t) => [t, ScoringRuleSchema.optional()])) as Record<TaskName, z.ZodOptional<typeof ScoringRuleSchema>>).strict(),
]);

const ExperimentConfigSchema = z
  .object({
    name,
    description: z.string().optional(),
    seed: z.number().int().default(233),
    dataDir: z.string().default(DEFAULT_DATA_DIR),
    artifactDir: z.string().default('.fireact/artifacts'),
    cacheDir: z.string().default('.fireact/cache'),
    models: z.record(name, ModelSchema).refine((m) => Object.keys(m).length > 0, 'define at least one model'),
    search: SearchSchema.prefault({ backend: 'replay' }),
    generate: z
      .object({
        teacher: name,
        tasks: z.array(GenerateTaskSchema).min(1),
        maxSteps: z.number().int().positive().max(50).default(8),
        reflexion: z
          .object({
            maxTrials: z.number().int().min(1).max(10).default(2),
            stepsPerTrial: z.number().int().positive().max(50).default(5),
          })
          .strict()
          .prefault({}),
        /** Re-asks after output with no parsable action, before a forced finish. */
        maxMalformedRetries: z.number().int().min(0).max(10).default(2),
        shardSize: z.number().int().positive().max(10_000).default(50),
        /** Both derived from the teacher's limits when omitted (see generationParallelism). */
        maxParallelShards: z.number().int().positive().max(256).optional(),
        episodeConcurrency: z.number().int().positive().max(1024).optional(),
        /**
         * Episodes one activity runs (at once, each stored as it finishes): fewer activity round trips
         * and history events per episode. 1 = an activity per episode. A budget always runs one per activity.
         * 25: two activities per default shard, whose progress still shows halfway (`npm run bench`).
         */
        episodesPerActivity: z.number().int().positive().max(100).default(25),
        fewShot: z.number().int().min(0).max(8).default(2),
        /** A shard's run continues as new past this many history events (Temporal's hard limit is 51,200). */
        continueAsNewAfterEvents: z.number().int().min(200).max(40_000).default(4000),
        /** `sync`: one request per call; `batch`: every round of a shard's episodes goes through the provider's Batch API (half price, up to 24 h). */
        mode: z.enum(['sync', 'batch']).default('sync'),
        batch: BatchSchema.optional(),
      })
      .strict(),
    curate: z
      .object({
        requireSuccess: z.boolean().default(true),
        maxTurns: z.number().int().positive().default(24),
        maxChars: z.number().int().positive().default(16_000),
        nearDuplicateThreshold: z.number().gt(0).max(1).default(0.9),
        excludeEvalQuestions: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    datasets: z.array(DatasetMixSchema).min(1),
    /** USD per 1M tokens, overriding the built-in list prices (which change). */
    prices: PriceTableSchema.optional(),
    /** Spending caps (dollars and/or tokens, overall and per model); the experiment pauses before passing one. */
    budget: BudgetSchema.optional(),
    /**
     * An activity that keeps failing with no progress for this long (a model server down, a GPU worker
     * that cannot train) pauses its stage as `blocked` instead of retrying silently; `fireact resume` goes on.
     */
    blockedAfterSeconds: z.number().positive().max(7 * 24 * 3600).default(DEFAULT_BLOCKED_AFTER_SECONDS),
    students: z.array(StudentSchema).default([]),
    evaluate: EvaluateSchema.optional(),
    /** How answers are scored, in generation (success) and evaluation: one rule for every task, or per task. */
    scoring: ScoringSchema.default(DEFAULT_SCORING_RULE),
  })
  .strict()
  .superRefine((c, ctx) => {
    const mixes = new Set(c.datasets.map((d) => d.name));
    const studentNames = new Set<string>();
    c.students.forEach((s, i) => {
      if (studentNames.has(s.name)) ctx.addIssue({ code: 'custom', path: ['students', i, 'name'], message: `duplicate student name "${s.name}"` });
      studentNames.add(s.name);
      s.datasets.forEach((d, j) => {
        if (!mixes.has(d)) ctx.addIssue({ code: 'custom', path: ['students', i, 'datasets', j], message: `unknown dataset "${d}"; defined datasets: ${[...mixes].join(', ')}` });
        const mixIndex = c.datasets.findIndex((m) => m.name === d);
        const formats = c.datasets[mixIndex]?.formats;
        if (formats && !formats.includes(STUDENT_TRAINING_FORMAT)) {
          ctx.addIssue({
            code: 'custom',
            path: ['students', i, 'datasets', j],
            message: `student "${s.name}" (backend ${s.backend}) trains on the "${STUDENT_TRAINING_FORMAT}" format, but dataset "${d}" is written only as ${formats.map((f) => `"${f}"`).join(', ')}; add "${STUDENT_TRAINING_FORMAT}" to datasets.${mixIndex}.formats`,
          });
        }
      });
    });
    c.evaluate?.baselines.forEach((b, i) => {
      if (!c.models[b.model]) {
        ctx.addIssue({ code: 'custom', path: ['evaluate', 'baselines', i, 'model'], message: `unknown model "${b.model}"; defined models: ${Object.keys(c.models).join(', ')}` });
      }
    });
    if (!c.models[c.generate.teacher]) {
      ctx.addIssue({
        code: 'custom',
        path: ['generate', 'teacher'],
        message: `unknown model "${c.generate.teacher}"; defined models: ${Object.keys(c.models).join(', ')}`,
      });
    } else if (c.generate.mode === 'batch' && batchDiscount(c.models[c.generate.teacher].provider) === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['generate', 'mode'],
        message: `mode "batch" needs a teacher of provider "openai" (a Batch API); teacher "${c.generate.teacher}" has provider "${c.models[c.generate.teacher].provider}"`,
      });
    }
    if (c.generate.batch && c.generate.mode !== 'batch') {
      ctx.addIssue({ code: 'custom', path: ['generate', 'batch'], message: 'batch settings apply only with generate.mode: batch' });
    }
    for (const m of Object.keys(c.budget?.perModel ?? {})) {
      if (!c.models[m]) ctx.addIssue({ code: 'custom', path: ['budget', 'perModel', m], message: `unknown model "${m}"; defined models: ${Object.keys(c.models).join(', ')}` });
    }
    const seen = new Set<string>();
    c.datasets.forEach((d, i) => {
      if (seen.has(d.name)) ctx.addIssue({ code: 'custom', path: ['datasets', i, 'name'], message: `duplicate dataset name "${d.name}"` });
      seen.add(d.name);
    });
    // A (task, split) names its frozen sample file, shards and evaluation runs: one entry each.
    for (const [field, entries] of [['generate', c.generate.tasks], ['evaluate', c.evaluate?.tasks ?? []]] as const) {
      const first = new Map<string, number>();
      entries.forEach((e, i) => {
        const key = `${e.task} ${e.split}`;
        const j = first.get(key);
        if (j === undefined) first.set(key, i);
        else {
          const merge = field === 'generate' ? 'list all its methods in that entry' : 'keep one entry per task and split';
          ctx.addIssue({ code: 'custom', path: [field, 'tasks', i], message: `${key} is already ${field}.tasks.${j}; ${merge}` });
        }
      });
    }
    // `<student>-<dataset>` names a fine-tuned model's folder and child workflow, `<student>-base` a
    // local student's base model (and its evaluation row): two of them must not coincide.
    const owners = new Map<string, string>();
    c.students.forEach((st, i) => {
      const names = [...st.datasets.map((d) => [`${st.name}-${d}`, `student "${st.name}" on dataset "${d}"`]), ...(!isHostedFineTune(st.backend) ? [[`${st.name}-base`, `the base model of student "${st.name}"`]] : [])];
      for (const [n, what] of names) {
        const other = owners.get(n);
        if (other === what) ctx.addIssue({ code: 'custom', path: ['students', i, 'datasets'], message: `student "${st.name}" lists a dataset twice ("${n.slice(st.name.length + 1)}")` });
        else if (other) ctx.addIssue({ code: 'custom', path: ['students', i, 'name'], message: `${what} and ${other} would both be named "${n}"; rename one` });
        owners.set(n, what);
      }
    });
    // Each evaluated model's runs live in eval/<pathSegment(name)>/: a student row
    // `<student>@<dataset>`, a base model `<student>-base` and a baseline must not share that folder,
    // or one would read the other's stored episodes as its own.
    if (c.evaluate) {
      const folders = new Map<string, string>();
      const claim = (name: string, what: string, path: Array<string | number>) => {
        const folder = pathSegment(name);
        const other = folders.get(folder);
        if (other) ctx.addIssue({ code: 'custom', path, message: `${what} and ${other} would share the evaluation folder "${folder}"; rename one` });
        else folders.set(folder, what);
      };
      c.students.forEach((st, i) => {
        for (const d of new Set(st.datasets)) claim(`${st.name}@${d}`, `student "${st.name}" on dataset "${d}"`, ['students', i, 'name']);
        if (!isHostedFineTune(st.backend) && c.evaluate!.baseModels) claim(`${st.name}-base`, `the base model of student "${st.name}"`, ['students', i, 'name']);
      });
      const baselineMethods = new Map<string, Set<string>>();
      c.evaluate.baselines.forEach((b, i) => {
        const methods = baselineMethods.get(b.model);
        if (!methods) claim(b.model, `baseline "${b.model}"`, ['evaluate', 'baselines', i, 'model']);
        const seenMethods = methods ?? new Set<string>();
        for (const m of b.methods) {
          if (seenMethods.has(m)) ctx.addIssue({ code: 'custom', path: ['evaluate', 'baselines', i, 'methods'], message: `baseline "${b.model}" with method "${m}" is listed twice` });
          seenMethods.add(m);
        }
        baselineMethods.set(b.model, seenMethods);
      });
    }
  });

export type ExperimentConfig = z.output<typeof ExperimentConfigSchema>;
export type ExperimentConfigInput = z.input<typeof ExperimentConfigSchema>;
export type ModelConfig = z.output<typeof ModelSchema>;
export type SearchConfig = z.output<typeof SearchSchema>;
export type DatasetMix = z.output<typeof DatasetMixSchema>;
export type GenerateTask = z.output<typeof GenerateTaskSchema>;
export type StudentConfig = z.output<typeof StudentSchema>;

/** The rule that scores `task` under a config's `scoring` (a task it does not name: DEFAULT_SCORING_RULE). */
export function scoringRuleFor(config: { scoring?: z.output<typeof ScoringSchema> }, task: TaskName): ScoringRule {
  const s = config.scoring ?? DEFAULT_SCORING_RULE;
  return typeof s === 'string' ? s : (s[task] ?? DEFAULT_SCORING_RULE);
}

/**
 * How many episodes generation runs at once, unless the config fixes it: enough to fill the teacher's
 * concurrency ceiling, and with a requests-per-minute cap no more than 30 s of requests at that rate
 * (episodes past that would only wait in the limiter). Every shard runs all its episodes at once.
 */
export function generationParallelism(config: Pick<ExperimentConfig, 'models' | 'generate'>): { episodeConcurrency: number; maxParallelShards: number; inFlight: number } {
  const g = config.generate;
  const teacher = config.models[g.teacher];
  let target = teacher?.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY;
  if (teacher?.requestsPerMinute) target = Math.min(target, Math.max(8, Math.ceil(teacher.requestsPerMinute / 2)));
  const episodeConcurrency = g.episodeConcurrency ?? Math.min(g.shardSize, target);
  const maxParallelShards = g.maxParallelShards ?? Math.min(256, Math.max(1, Math.ceil(target / episodeConcurrency)));
  return { episodeConcurrency, maxParallelShards, inFlight: episodeConcurrency * maxParallelShards };
}

/** Thrown with every problem listed as `path: message`. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid experiment config:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length ? issue.path.map(String).join('.') : '(root)';
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // Explain with the alternative of the input's own kind (a rule name, or a mapping); zod says only "Invalid input".
    const wrongKind = (branch: z.core.$ZodIssue[]) =>
      branch.some(
        (i) => i.path.length === 0 && (i.code === 'invalid_type' || (i.code === 'invalid_value' && i.values.every((v) => typeof v !== typeof issue.input))),
      );
    const fitting = issue.errors.find((branch) => !wrongKind(branch));
    if (fitting) return fitting.map((i) => describeIssue({ ...i, path: [...issue.path, ...i.path] })).join('; ');
    if (issue.path.at(-1) === 'scoring') {
      return `${path}: got ${JSON.stringify(issue.input)}; use one of ${SCORING_RULES.map((r) => JSON.stringify(r)).join(', ')}, or a mapping of task to one of them`;
    }
  }
  if (issue.code === 'invalid_value' && issue.values.length > 1) {
    return `${path}: ${JSON.stringify(issue.input)} is not allowed; use one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${path}: required (${issue.expected})`;
  if (issue.code === 'invalid_type' && issue.path.length === 0) {
    // A YAML list or an empty file parses fine; say what the top level must be.
    const got = issue.input === null ? 'an empty file (null)' : Array.isArray(issue.input) ? 'a list' : `${typeof issue.input} ${JSON.stringify(issue.input)}`;
    return `${path}: the config must be a mapping of fields (name, models, generate, datasets, …), got ${got}`;
  }
  // Bounds name the value given, so "-1" is visible next to the field.
  if ((issue.code === 'too_small' || issue.code === 'too_big') && issue.origin === 'number') {
    const op = issue.code === 'too_small' ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
    const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
    const rule = /^Too (small|big)/.test(issue.message) ? `must be ${op} ${String(bound)}` : issue.message;
    return `${path}: got ${JSON.stringify(issue.input)}; ${rule}`;
  }
  if (issue.code === 'unrecognized_keys') return `${path}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return `${path}: ${issue.message}`;
}

/** Parses an already-loaded object; file reading lives in lib/experiment/config-file.ts. */
export function parseExperimentConfig(raw: unknown): ExperimentConfig {
  const r = ExperimentConfigSchema.safeParse(raw, { reportInput: true });
  if (!r.success) throw new ConfigError(r.error.issues.map(describeIssue));
  return r.data;
}

/** The teacher as generation pays for it: batch mode is priced at the provider's batch discount (plan, budget and report all use this). */
export function generationPriced(config: Pick<ExperimentConfig, 'models' | 'generate'>): PricedModel & { maxTokens: number } {
  const t = config.models[config.generate.teacher];
  return { provider: t.provider, model: t.model, maxTokens: t.maxTokens, ...(config.generate.mode === 'batch' ? { batch: true } : {}) };
}

/** A batch-mode config's batch settings, defaults filled in. */
export function batchSettings(config: Pick<ExperimentConfig, 'generate'>): BatchConfig {
  return config.generate.batch ?? DEFAULT_BATCH;
}

/** The variable a serpapi search backend reads its key from. */
export function searchKeyEnv(search: Pick<SearchConfig, 'apiKeyEnv'>): string {
  return search.apiKeyEnv ?? DEFAULT_SERPAPI_KEY_ENV;
}
