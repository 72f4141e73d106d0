// The names of the pluggable things: tasks, model providers, search backends, fine-tuning backends.
// The config schema (imported by workflows) needs them, and the registries in lib/ that implement them
// pull in Node APIs, so the names live here on their own. Each registry is a `satisfies Record<Name, …>`
// object literal, so a name without an entry, or an entry without a name, is a type error.
export const TASK_NAMES = ['hotpotqa', 'strategyqa', 'bamboogle', 'mmlu'] as const;
export const MODEL_PROVIDERS = ['openai', 'replay'] as const;
export const SEARCH_BACKENDS = ['replay', 'local', 'serpapi', 'wikipedia'] as const;

export type TaskName = (typeof TASK_NAMES)[number];
export type ModelProviderName = (typeof MODEL_PROVIDERS)[number];
export type SearchBackendName = (typeof SEARCH_BACKENDS)[number];

/**
 * Fine-tuning backends by kind. "hosted": a provider's fine-tuning API, one `FineTuneJobBackend`
 * (lib/finetune/<name>.ts) in FINETUNE_JOB_BACKENDS (lib/finetune/registry.ts), run by the generic
 * hosted-job activities; "local": our trainer, a long activity on the GPU task queue. The workflows
 * and the config read the kind from here, never from a backend's name.
 */
export const FINETUNE_BACKEND_KINDS = { local: 'local', openai: 'hosted' } as const satisfies Record<string, 'local' | 'hosted'>;
export type FineTuneBackendName = keyof typeof FINETUNE_BACKEND_KINDS;
export const FINETUNE_BACKENDS = Object.keys(FINETUNE_BACKEND_KINDS) as [FineTuneBackendName, ...FineTuneBackendName[]];
export type HostedFineTuneBackendName = { [N in FineTuneBackendName]: (typeof FINETUNE_BACKEND_KINDS)[N] extends 'hosted' ? N : never }[FineTuneBackendName];

export function isHostedFineTune(backend: FineTuneBackendName): backend is HostedFineTuneBackendName {
  return FINETUNE_BACKEND_KINDS[backend] === 'hosted';
}
