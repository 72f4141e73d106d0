// A ChatModel that spends from one episode's allowance: before each call it prices the request it is
// about to send (prompt by characters, a full reply) and refuses the call if that could pass the
// allowance; after it, it adds what the endpoint reported. Cached answers cost nothing.
import { add, callCost, CHECK_CHARS_PER_TOKEN, fits, room, ZERO, type Amount, type BudgetExhaustedDetails, type Cap } from '../../core/budget';
import { ErrorType, typedFailure, type TypedFailure } from '../../core/errors';
import type { PriceTable, PricedModel } from '../../core/prices';
import type { ChatModel, ChatRequest } from '../models/types';

export interface MeteredModel extends ChatModel {
  /** What the calls answered by the endpoint (not the cache) cost so far. */
  paid(): Amount;
}

/** Tokens a request may count as, erring high. */
export function requestTokensBound(request: ChatRequest): number {
  const chars = request.messages.reduce((n, m) => n + m.content.length + 16, 0);
  return Math.ceil(chars / CHECK_CHARS_PER_TOKEN);
}

export function budgetExhausted(message: string, details: BudgetExhaustedDetails): TypedFailure {
  return typedFailure({ type: ErrorType.BudgetExhausted, message, nonRetryable: true, details: [details] });
}

export function meterModel(inner: ChatModel, opts: { allowance: Cap; maxTokens: number; prices: PriceTable; priced?: PricedModel }): MeteredModel {
  let paid: Amount = ZERO;
  // A batch teacher is priced at its batch discount.
  const priced: PricedModel = opts.priced ?? { provider: inner.provider, model: inner.model };
  return {
    name: inner.name,
    provider: inner.provider,
    model: inner.model,
    paid: () => paid,
    async complete(request, signal) {
      const worst = callCost(priced, requestTokensBound(request), request.maxTokens ?? opts.maxTokens, opts.prices);
      if (!fits(worst, room(opts.allowance, paid))) {
        const need = add(paid, worst);
        throw budgetExhausted(
          `model "${inner.name}": the next call could cost $${worst.usd.toFixed(4)} / ${worst.tokens} tokens, more than is left of this episode's allowance`,
          { paid, allowance: opts.allowance, need },
        );
      }
      const response = await inner.complete(request, signal);
      if (!response.cached) paid = add(paid, callCost(priced, response.promptTokens, response.completionTokens, opts.prices));
      return response;
    },
  };
}
