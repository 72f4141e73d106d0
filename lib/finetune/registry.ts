// Hosted fine-tuning backends by name (students with a backend of kind "hosted", core/names.ts).
// Adding one: its module (a `FineTuneJobBackendFactory`), its name and kind in core/names.ts, and its
// line here; either without the other is a type error. The local trainer is not here: it is the
// "local" kind, run by activities/finetune-local.ts on the GPU queue.
import type { HostedFineTuneBackendName } from '../../core/names';
import type { FineTuneJobBackendFactory } from './hosted';
import { createOpenAIFineTuneBackend } from './openai';

export const FINETUNE_JOB_BACKENDS = {
  openai: createOpenAIFineTuneBackend,
} satisfies Record<HostedFineTuneBackendName, FineTuneJobBackendFactory>;
