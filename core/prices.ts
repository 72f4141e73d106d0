// Model prices for cost estimates before anything is spent. These are OpenAI's public list prices
// as last known to this project (USD per 1M tokens); providers change them, so a config can
// override any entry or add its own (PriceTableSchema), and an unknown model costs 0, flagged 'unpriced'.
import { z } from 'zod';

const ModelPriceSchema = z
  .object({
    /** USD per 1M prompt (input) tokens. */
    input: z.number().nonnegative(),
    /** USD per 1M completion (output) tokens. */
    output: z.number().nonnegative(),
    /** USD per 1M training tokens (tokens in the training file × epochs), where the model can be fine-tuned. */
    training: z.number().nonnegative().optional(),
  })
  .strict();

/**
 * Keys are model names as sent to the endpoint. A dated snapshot ("gpt-4o-2024-08-06") falls back
 * to its family's key; a fine-tuned model ("ft:gpt-4o-mini-2024-07-18:org::id") to "ft:<family>".
 */
export const PriceTableSchema = z.record(z.string().min(1), ModelPriceSchema);

export type ModelPrice = z.output<typeof ModelPriceSchema>;
export type PriceTable = z.output<typeof PriceTableSchema>;

/** List prices (OpenAI, 2024); they change, so treat them as defaults to override. */
export const DEFAULT_PRICES: Readonly<PriceTable> = {
  'gpt-4': { input: 30, output: 60 },
  'gpt-4-0613': { input: 30, output: 60 },
  'gpt-4-32k': { input: 60, output: 120 },
  'gpt-4-turbo': { input: 10, output: 30 },
  'gpt-4o': { input: 2.5, output: 10, training: 25 },
  'gpt-4o-mini': { input: 0.15, output: 0.6, training: 3 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5, training: 8 },
  'gpt-3.5-turbo-0125': { input: 0.5, output: 1.5, training: 8 },
  'gpt-3.5-turbo-1106': { input: 1, output: 2, training: 8 },
  'gpt-3.5-turbo-0613': { input: 1.5, output: 2, training: 8 },
  // Using a fine-tuned model costs more than its base model.
  'ft:gpt-3.5-turbo': { input: 3, output: 6 },
  'ft:gpt-4o-mini': { input: 0.3, output: 1.2 },
  'ft:gpt-4o': { input: 3.75, output: 15 },
};

export type PriceFlag = 'unpriced';

export interface CostEstimate {
  usd: number;
  /** 'unpriced': no price is known for the model (or it is a replay/local one), so usd is 0. */
  flags: PriceFlag[];
  /** The table key that priced it. */
  priceKey?: string;
}

/** The defaults with the overrides laid over them, entry by entry. */
export function mergePrices(overrides?: PriceTable): PriceTable {
  return { ...DEFAULT_PRICES, ...(overrides ?? {}) };
}

const SNAPSHOT_SUFFIX = /-(?:\d{4}-\d{2}-\d{2}|\d{4})$/;

/** The table entry for a model name: exact, then without a snapshot date; fine-tuned names under "ft:<base>". */
export function lookupPrice(model: string, prices: PriceTable = DEFAULT_PRICES): { key: string; price: ModelPrice } | undefined {
  const candidates = [model];
  if (model.startsWith('ft:')) {
    const base = model.slice(3).split(':')[0];
    candidates.push(`ft:${base}`, `ft:${base.replace(SNAPSHOT_SUFFIX, '')}`);
  } else {
    candidates.push(model.replace(SNAPSHOT_SUFFIX, ''));
  }
  for (const key of candidates) {
    if (Object.prototype.hasOwnProperty.call(prices, key)) return { key, price: prices[key] };
  }
  return undefined;
}

export interface PricedModel {
  provider: string;
  model: string;
  /** Sent through the provider's Batch API: priced at BATCH_DISCOUNT of the list price. */
  batch?: boolean;
}

/** What a batch request costs as a fraction of the list price, per provider (OpenAI: half price for the 24 h window). */
const BATCH_DISCOUNT: Readonly<Record<string, number>> = { openai: 0.5 };

/** The generation mode `batch` is offered for these providers only. */
export function batchDiscount(provider: string): number | undefined {
  return Object.prototype.hasOwnProperty.call(BATCH_DISCOUNT, provider) ? BATCH_DISCOUNT[provider] : undefined;
}

function unpriced(): CostEstimate {
  return { usd: 0, flags: ['unpriced'] };
}

/** Cost of inference tokens. Only the "openai" provider is priced (replay and local models cost nothing here). */
export function estimateCost(model: PricedModel, usage: { promptTokens: number; completionTokens: number }, prices: PriceTable = DEFAULT_PRICES): CostEstimate {
  if (model.provider !== 'openai') return unpriced();
  const hit = lookupPrice(model.model, prices);
  if (!hit) return unpriced();
  const factor = model.batch ? (batchDiscount(model.provider) ?? 1) : 1;
  return { usd: (factor * (usage.promptTokens * hit.price.input + usage.completionTokens * hit.price.output)) / 1e6, flags: [], priceKey: hit.key };
}

/** Cost of a fine-tuning job: training-file tokens × epochs at the base model's training price. */
export function estimateTrainingCost(model: PricedModel, trainingTokens: number, epochs = 1, prices: PriceTable = DEFAULT_PRICES): CostEstimate {
  if (model.provider !== 'openai') return unpriced();
  const hit = lookupPrice(model.model, prices);
  if (hit?.price.training === undefined) return unpriced();
  return { usd: (trainingTokens * epochs * hit.price.training) / 1e6, flags: [], priceKey: hit.key };
}
