// Model providers by name (config.models.*.provider). Adding one: its module (a `ModelProvider`),
// its name in core/names.ts, and its line here; either without the other is a type error.
import type { ModelProviderName } from '../../core/names';
import { replayProvider } from '../replay/replay-model';
import { openaiProvider } from './openai-model';
import type { ModelProvider } from './types';

export const MODEL_PROVIDER_REGISTRY = {
  openai: openaiProvider,
  replay: replayProvider,
} satisfies Record<ModelProviderName, ModelProvider>;
