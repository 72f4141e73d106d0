// `fireact budget <id> --add <usd> [--tokens N] [--model NAME]`: raises an experiment's cap through the
// `raiseBudget` update and prints the new cap; a paused experiment continues on its own.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { raiseBudgetUpdate, type BudgetState, type RaiseBudget } from '../../core/budget';

function positive(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} needs a positive number, got "${v}"`);
  return n;
}

/** The raise the flags ask for; throws with the usage on a mistake. */
function budgetRaise(opts: { add?: string; tokens?: string; model?: string }): RaiseBudget {
  const usd = positive('--add', opts.add);
  const tokens = positive('--tokens', opts.tokens);
  if (usd === undefined && tokens === undefined) throw new Error('budget needs --add <usd> and/or --tokens <n>; usage: fireact budget <id> --add <usd> [--tokens <n>] [--model <name>]');
  if (tokens !== undefined && !Number.isInteger(tokens)) throw new Error(`--tokens needs a whole number, got ${tokens}`);
  return { ...(usd !== undefined ? { usd } : {}), ...(tokens !== undefined ? { tokens } : {}), ...(opts.model ? { model: opts.model } : {}) };
}

type Caps = { capUsd?: number; capTokens?: number; spentUsd: number; spentTokens: number };

function spentOf(c: Caps): string[] {
  const parts: string[] = [];
  if (c.capUsd !== undefined) parts.push(`$${c.spentUsd.toFixed(4)} of $${+c.capUsd.toFixed(6)} spent`);
  if (c.capTokens !== undefined) parts.push(`${c.spentTokens} of ${c.capTokens} tokens spent`);
  return parts;
}

function capOf(c: Caps): string {
  return [c.capUsd !== undefined ? `$${+c.capUsd.toFixed(6)}` : '', c.capTokens !== undefined ? `${c.capTokens} tokens` : ''].filter(Boolean).join(' and ');
}

export function describeBudget(s: BudgetState): string {
  const parts = spentOf(s);
  if (!parts.length) parts.push(`$${s.spentUsd.toFixed(4)} spent`);
  for (const [m, c] of Object.entries(s.models ?? {})) parts.push(`model ${m}: ${spentOf(c).join(', ')}`);
  return `${parts.join('; ')}${s.paused ? ' (still paused: the next piece of work needs more)' : ''}`;
}

export async function budgetCommand(id: string, opts: { add?: string; tokens?: string; model?: string }): Promise<number> {
  const raise = budgetRaise(opts);
  const { connect } = await import('./connection');
  const { requireRunning } = await import('./experiments');
  const { client, connection } = await connect();
  let state: BudgetState;
  try {
    // An ended experiment cannot take an update; say that rather than the server's wording.
    await requireRunning(client, id, 'its budget can no longer be raised');
    state = await client.workflow.getHandle(id).executeUpdate(raiseBudgetUpdate, { args: [raise] });
  } catch (err) {
    // The validator's message is what the user needs (no budget, no such cap, bad amount).
    if (err instanceof WorkflowUpdateFailedError) throw new Error(`budget not raised: ${err.cause?.message ?? err.message}`);
    throw err;
  } finally {
    await connection.close();
  }
  const raisedCap = raise.model ? state.models?.[raise.model] : state;
  console.log(`budget of ${id} raised: ${raise.model ? `model ${raise.model} ` : ''}cap now ${raisedCap ? capOf(raisedCap) : '?'}`);
  console.log(`  ${describeBudget(state)}`);
  return 0;
}
