// Spending caps: the config block, the worst-case cost of an episode, the pure ledger arithmetic the
// experiment workflow keeps, and the `raiseBudget` update. Pure (zod and workflow definitions only),
// so workflows, activities and the CLI share one definition.
import { defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { isSingleTurn, maxEpisodeCalls, maxEpisodeSteps, type MethodName } from './methods';
import { estimateCost, type PriceTable, type PricedModel } from './prices';

const positive = (what: string) => z.number({ error: `${what} must be a number` }).positive(`${what} must be a positive number`);

const CapSchema = z
  .object({
    /** Dollars at the price table's rates (cached calls cost nothing). */
    usd: positive('usd').optional(),
    /** Prompt + completion tokens actually paid for. */
    tokens: positive('tokens').int('tokens must be a whole number').optional(),
  })
  .strict();

export const BudgetSchema = CapSchema.extend({
  /** Caps per model name of config.models (on top of the experiment-wide caps). */
  perModel: z.record(z.string().min(1), CapSchema).optional(),
}).strict();

export type Cap = z.output<typeof CapSchema>;

/** What was, or may be, spent: both dimensions always counted. */
export interface Amount {
  usd: number;
  tokens: number;
}

export const ZERO: Amount = { usd: 0, tokens: 0 };

export function add(a: Amount, b: Amount): Amount {
  return { usd: a.usd + b.usd, tokens: a.tokens + b.tokens };
}

export function sub(a: Amount, b: Amount): Amount {
  return { usd: a.usd - b.usd, tokens: a.tokens - b.tokens };
}

/** Slack for floating-point sums of prices, far below a cent. */
const EPS = 1e-9;

/** True when `need` fits inside `room` in every capped dimension (an absent dimension is unlimited). */
export function fits(need: Amount, room: Cap): boolean {
  return (room.usd === undefined || need.usd <= room.usd + EPS) && (room.tokens === undefined || need.tokens <= room.tokens);
}

/** The tighter of two caps, dimension by dimension. */
function tighter(a: Cap, b: Cap | undefined): Cap {
  const min = (x?: number, y?: number) => (x === undefined ? y : y === undefined ? x : Math.min(x, y));
  return { usd: min(a.usd, b?.usd), tokens: min(a.tokens, b?.tokens) };
}

/** What is left of a cap after `used`; an uncapped dimension stays unlimited. */
export function room(cap: Cap, used: Amount): Cap {
  return {
    usd: cap.usd === undefined ? undefined : cap.usd - used.usd,
    tokens: cap.tokens === undefined ? undefined : cap.tokens - used.tokens,
  };
}

/** The part of `want` a cap's room can hand out (uncapped dimensions hand out all of it). */
export function grant(want: Amount, available: Cap): Cap {
  return {
    usd: available.usd === undefined ? undefined : Math.max(0, Math.min(want.usd, available.usd)),
    tokens: available.tokens === undefined ? undefined : Math.max(0, Math.min(want.tokens, available.tokens)),
  };
}

// The one cost model for an episode's upper bound: `fireact plan` shows it as the "upper" figure and
// the budget reserves it before the episode starts. Every step is used, then a forced finish; each
// reply is maxTokens long; each step adds its reply and an observation (at most OBSERVATION_TOKENS)
// to the next prompt; the first prompt is counted as the budget's check counts a request (characters
// / CHECK_CHARS_PER_TOKEN). Re-asks after malformed replies are not in it: an episode that needs more
// than its reservation stops, is booked, and runs again later with twice the reservation.
export const OBSERVATION_TOKENS = 400;
/** Characters per token assumed when checking a request before it is sent (real text averages ~4; 3 leaves room). */
export const CHECK_CHARS_PER_TOKEN = 3;
/** Tokens the chat format adds around each message. */
export const MESSAGE_OVERHEAD_TOKENS = 4;

export interface EpisodeShape {
  calls: number;
  /** The first request's tokens, counted as the budget's check counts them. */
  firstPromptTokens: number;
  maxTokens: number;
}

/** What one step adds to the next prompt at most: a full reply and an observation, as two messages. */
export function upperGrowthPerStep(maxTokens: number): number {
  return maxTokens + OBSERVATION_TOKENS + 2 * MESSAGE_OVERHEAD_TOKENS;
}

/** Prompt and completion tokens of an episode at its upper bound. */
export function episodeUpperTokens(s: EpisodeShape): { prompt: number; completion: number } {
  const growth = upperGrowthPerStep(s.maxTokens);
  return { prompt: s.calls * s.firstPromptTokens + (growth * s.calls * (s.calls - 1)) / 2, completion: s.calls * s.maxTokens };
}

/** What the budget reserves for one episode (and plan counts as its upper bound); models without a price cost 0 dollars. */
export function episodeReservation(model: PricedModel, s: EpisodeShape, prices: PriceTable): Amount {
  if (model.provider !== 'openai') return ZERO;
  const t = episodeUpperTokens(s);
  return callCost(model, t.prompt, t.completion, prices);
}

/** Largest first-request tokens over the evaluation samples, by prompt kind (few-shot per method). */
export interface EvalPromptBounds {
  fewShot: Record<string, number>;
  student: number;
}

/** An evaluation episode's reservation, from what prepare measured; the workflow and plan both call this. */
export function evalReservation(
  model: { provider: string; model: string; maxTokens: number },
  method: MethodName,
  prompt: 'student' | 'few-shot',
  plan: { evaluate: (Omit<EpisodeLimits, 'method' | 'maxTokens'> & { prompts?: EvalPromptBounds }) | null; prices: PriceTable },
): Amount {
  const ev = plan.evaluate;
  if (!ev?.prompts) return ZERO;
  const first = prompt === 'student' ? ev.prompts.student : (ev.prompts.fewShot[method] ?? 0);
  return episodeReservation(model, { calls: maxEpisodeCalls(method, ev), firstPromptTokens: first, maxTokens: model.maxTokens }, plan.prices);
}

export interface EpisodeLimits {
  method: MethodName;
  maxSteps: number;
  maxMalformedRetries: number;
  reflexion: { maxTrials: number; stepsPerTrial: number };
  maxTokens: number;
}

/** Price of one call of `promptTokens` in and `completionTokens` out; models without a price cost 0 dollars. */
export function callCost(model: PricedModel, promptTokens: number, completionTokens: number, prices: PriceTable): Amount {
  if (model.provider !== 'openai') return ZERO;
  // One price rule (list price, batch discount) for plan, budget and report.
  return { usd: estimateCost(model, { promptTokens, completionTokens }, prices).usd, tokens: promptTokens + completionTokens };
}

/**
 * The reservation of an evaluation episode in experiments prepared before the one cost model (their
 * prepare result has no `evaluate.prompts`): kept so their histories replay with the same grants.
 */
export function legacyEpisodeWorstCase(model: { provider: string; model: string }, l: EpisodeLimits, prices: PriceTable): Amount {
  if (model.provider !== 'openai') return ZERO;
  const perStep = l.maxMalformedRetries + 2;
  const calls = isSingleTurn(l.method) ? perStep : maxEpisodeSteps(l.method, l) * perStep + 1;
  const prompt = 3000 + (calls - 1) * (l.maxTokens + OBSERVATION_TOKENS);
  const one = callCost(model, prompt, l.maxTokens, prices);
  return { usd: one.usd * calls, tokens: one.tokens * calls };
}

/** What prepare hands the workflow: the caps, the prices, and what it needs to price any episode. */
export interface BudgetPlan {
  caps: Cap;
  perModel: Record<string, Cap>;
  /** USD per 1M tokens: the list prices with the config's over them. */
  prices: PriceTable;
  teacher: string;
  /** Generation's reservation per method (zero for a teacher that costs nothing). */
  generate: Record<string, Amount>;
  /** Evaluation's step limits and first-prompt sizes (absent in experiments prepared before them), for pricing an evaluation target's episodes. */
  evaluate: (Omit<EpisodeLimits, 'method' | 'maxTokens'> & { prompts?: EvalPromptBounds }) | null;
  /** The configured models, by config name. */
  models: Record<string, { provider: string; model: string; maxTokens: number }>;
}

export function isZero(a: Amount): boolean {
  return a.usd === 0 && a.tokens === 0;
}

/** Shown in progress while the experiment waits for more budget. */
export interface BudgetPause {
  reason: string;
  stage: string;
  since: string;
  /** The model whose work waits. */
  model: string;
  spentUsd: number;
  spentTokens: number;
  capUsd?: number;
  capTokens?: number;
  /** The reservation one more episode needs. */
  needUsd: number;
  needTokens: number;
}

/** State of the ledger, as the `raiseBudget` update returns it. */
export interface BudgetState {
  capUsd?: number;
  capTokens?: number;
  spentUsd: number;
  spentTokens: number;
  paused: boolean;
  /** Models with caps of their own. */
  models?: Record<string, { capUsd?: number; capTokens?: number; spentUsd: number; spentTokens: number }>;
}

export interface RaiseBudget {
  /** Dollars added to the cap. */
  usd?: number;
  /** Tokens added to the cap. */
  tokens?: number;
  /** Raise this model's own cap instead of the experiment-wide one. */
  model?: string;
}

export const raiseBudgetUpdate = defineUpdate<BudgetState, [RaiseBudget]>('raiseBudget');

/** The FireActStage value while the experiment waits for budget. */
export const PAUSED_BUDGET_STAGE = 'paused-budget';

/** Why a raise is refused (validator of the update), or null. */
export function checkRaise(r: RaiseBudget, cap: Cap): string | null {
  if (r.usd === undefined && r.tokens === undefined) return 'give --add <usd> and/or --tokens <n>';
  for (const [k, v] of Object.entries({ usd: r.usd, tokens: r.tokens })) {
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v > 0)) return `${k} must be a positive number`;
  }
  if (r.usd !== undefined && cap.usd === undefined) return `there is no dollar cap${r.model ? ` for model "${r.model}"` : ''} to raise`;
  if (r.tokens !== undefined && cap.tokens === undefined) return `there is no token cap${r.model ? ` for model "${r.model}"` : ''} to raise`;
  return null;
}

/** Details a BudgetExhausted failure carries: what the refused episode had already paid. */
export interface BudgetExhaustedDetails {
  paid: Amount;
  /** The reservation it was given and what it would have needed to go on. */
  allowance: Cap;
  need: Amount;
}

/**
 * The experiment's ledger, kept in workflow state (deterministic, rebuilt by replay): caps, what
 * finished work spent and what is granted to running work, overall and per model. Work starts only
 * with a grant that funds at least one episode's reservation; what it does not spend comes back.
 */
export function createLedger(plan: Pick<BudgetPlan, 'caps' | 'perModel'>) {
  const caps: Cap = { ...plan.caps };
  const perModel: Record<string, Cap> = Object.fromEntries(Object.entries(plan.perModel).map(([k, v]) => [k, { ...v }]));
  const reservations: Record<string, Amount> = {};
  let spent: Amount = ZERO;
  let granted: Amount = ZERO;
  const spentBy: Record<string, Amount> = {};
  const grantedBy: Record<string, Amount> = {};
  const asAmount = (c: Cap): Amount => ({ usd: c.usd ?? 0, tokens: c.tokens ?? 0 });
  const available = (model: string): Cap => {
    const overall = room(caps, add(spent, granted));
    const own = perModel[model];
    return own ? tighter(overall, room(own, add(spentBy[model] ?? ZERO, grantedBy[model] ?? ZERO))) : overall;
  };
  const describe = (c: Cap, used: Amount) =>
    [c.usd !== undefined ? `$${used.usd.toFixed(4)} of $${+c.usd.toFixed(6)} spent` : '', c.tokens !== undefined ? `${used.tokens} of ${c.tokens} tokens spent` : '']
      .filter(Boolean)
      .join(', ');

  return {
    /** The reservation for a kind of episode: `base`, or more once one of them outgrew it. */
    reservation: (key: string, base: Amount): Amount => reservations[key] ?? base,
    canStart: (model: string, need: Amount): boolean => fits(need, available(model)),
    /** Reserves up to `episodes` episodes' worth for one piece of work (a shard, an evaluation). */
    grant(model: string, need: Amount, episodes: number): Cap {
      const allowance = grant({ usd: need.usd * episodes, tokens: need.tokens * episodes }, available(model));
      granted = add(granted, asAmount(allowance));
      grantedBy[model] = add(grantedBy[model] ?? ZERO, asAmount(allowance));
      return allowance;
    },
    /** Work ended: its grant comes back and what it paid is booked. */
    settle(model: string, allowance: Cap, paid: Amount): void {
      granted = sub(granted, asAmount(allowance));
      grantedBy[model] = sub(grantedBy[model] ?? ZERO, asAmount(allowance));
      spent = add(spent, paid);
      spentBy[model] = add(spentBy[model] ?? ZERO, paid);
    },
    /** An episode needed `outgrew` (more than its reservation): reserve twice that from now on. */
    outgrew(key: string, base: Amount, outgrew: Amount): void {
      const r = reservations[key] ?? base;
      reservations[key] = { usd: Math.max(r.usd, outgrew.usd * 2), tokens: Math.max(r.tokens, outgrew.tokens * 2) };
    },
    /** The cap a raise applies to: the experiment's, or a model's own; undefined when that model has none. */
    capFor: (model?: string): Cap | undefined => (model === undefined ? caps : perModel[model]),
    raise(r: RaiseBudget): void {
      const target = r.model === undefined ? caps : perModel[r.model];
      if (!target) return;
      if (r.usd !== undefined && target.usd !== undefined) target.usd += r.usd;
      if (r.tokens !== undefined && target.tokens !== undefined) target.tokens += r.tokens;
    },
    state(paused: boolean): BudgetState {
      const state: BudgetState = { capUsd: caps.usd, capTokens: caps.tokens, spentUsd: spent.usd, spentTokens: spent.tokens, paused };
      const own = Object.entries(perModel);
      if (own.length) {
        state.models = Object.fromEntries(
          own.map(([m, c]) => [m, { capUsd: c.usd, capTokens: c.tokens, spentUsd: spentBy[m]?.usd ?? 0, spentTokens: spentBy[m]?.tokens ?? 0 }]),
        );
      }
      return state;
    },
    pause(model: string, need: Amount, what: string, stage: string, since: string): BudgetPause {
      const own = perModel[model];
      const where = [describe(caps, spent), own ? `model ${model}: ${describe(own, spentBy[model] ?? ZERO)}` : ''].filter(Boolean).join('; ');
      return {
        reason: `budget: ${what} could cost up to $${need.usd.toFixed(4)} / ${need.tokens} tokens, more than is left (${where}); raise it with \`fireact budget <id> --add <usd>\`${own ? ` (or --model ${model})` : ''}`,
        stage,
        since,
        model,
        spentUsd: spent.usd,
        spentTokens: spent.tokens,
        capUsd: caps.usd,
        capTokens: caps.tokens,
        needUsd: need.usd,
        needTokens: need.tokens,
      };
    },
  };
}

export type Ledger = ReturnType<typeof createLedger>;
