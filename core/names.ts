// The names of the pluggable things: tasks, model providers, search backends, fine-tuning backends.
// The config schema (imported by workflows) needs them, and the registries in lib/ that implement them
// pull in Node APIs, so the names live here on their own. Each registry is a `satisfies Record<Name, …>`
// object literal, so a name without an entry, or an entry without a name, is a type error.
export const TASK_NAMES = ['hotpotqa', 'strategyqa', 'bamboogle', 'mmlu'] as const;
export const MODEL_PROVIDERS = ['openai', 'replay'] as const;
export const SEARCH_BACKENDS = ['replay', 'local', 'serpapi', 'wikipedia'] as const;
export const FINETUNE_BACKENDS = ['local', 'openai'] as const;

export type TaskName = (typeof TASK_NAMES)[number];
export type ModelProviderName = (typeof MODEL_PROVIDERS)[number];
export type SearchBackendName = (typeof SEARCH_BACKENDS)[number];
