// Stage generate, mode batch (workflows/generate-batch.ts orchestrates): a round drives every open
// episode of a shard over the answers so far and puts each one's next request into batch input files;
// the workflow waits on timers and a cheap status check; apply writes the answers into the content
// cache, keyed as the synchronous client keys them, and the next round goes on.
import { Context, log } from '@temporalio/activity';
import { add, ZERO, type BudgetExhaustedDetails } from '../core/budget';
import { batchSettings, generationPriced, type ExperimentConfig } from '../core/config';
import { ErrorType, isTypedFailure, typedFailure } from '../core/errors';
import { shardName } from '../core/ids';
import { createBatchClient, type BatchClient } from '../lib/batch/batch-client';
import { batchKey, batchLine, parseLines, splitParts, type ManifestEntry } from '../lib/batch/files';
import { createBatchModel, NeedsBatchReply } from '../lib/batch/batch-model';
import type { ClientProvider } from '../lib/experiment/clients';
import type { ExperimentHandle } from '../lib/experiment/frozen';
import { layout } from '../lib/experiment/layout';
import { storedCompletion, type StoredCompletion } from '../lib/models/openai-model';
import type { BatchApplyResult, BatchRef, BatchRoundInput, BatchRoundResult, BatchStatus, ShardPlan } from './contracts';
import type { PlayEpisode } from './episode';
import { startHeartbeat } from './heartbeat';

const DRIVE_AT_ONCE = 16;

function roundDir(handle: ExperimentHandle, plan: ShardPlan, round: number): string {
  return layout.batchRound(handle.experiment, shardName(plan.task, plan.split, plan.method, plan.shard), round);
}

export function createBatchActivities(deps: {
  clients: ClientProvider;
  frozenConfig: (h: ExperimentHandle) => Promise<ExperimentConfig>;
  playEpisode: PlayEpisode;
  env: NodeJS.ProcessEnv;
}) {
  const { clients, frozenConfig, playEpisode, env } = deps;
  const batchClients = new Map<string, BatchClient>();
  const clientFor = (config: ExperimentConfig): BatchClient => {
    const mc = config.models[config.generate.teacher];
    const k = JSON.stringify(mc);
    let c = batchClients.get(k);
    if (!c) {
      c = createBatchClient({ name: config.generate.teacher, config: mc, env });
      batchClients.set(k, c);
    }
    return c;
  };
  const signal = () => Context.current().cancellationSignal;

  return {
    /** Drives the shard's open episodes; their next requests go into this round's batches (found by key when made before). */
    async submitBatchRound(input: BatchRoundInput): Promise<BatchRoundResult> {
      const config = await frozenConfig(input.handle);
      if (config.generate.mode !== 'batch') {
        throw typedFailure({ type: ErrorType.InvalidConfig, nonRetryable: true, message: 'generate.mode is not batch in the frozen config' });
      }
      const settings = batchSettings(config);
      const teacher = config.models[config.generate.teacher];
      const cache = clients.modelCache(config);
      // The previous round's answers, stored by applyBatchRound, perhaps on another worker.
      await clients.syncCaches(config);
      const priced = generationPriced(config);
      const { plan } = input;
      const heartbeat = startHeartbeat({ round: input.round, driven: 0 });
      const r: BatchRoundResult = { finished: 0, succeeded: 0, calls: 0, cachedCalls: 0, reused: 0, paid: ZERO, pending: [], requests: 0, batches: [], sync: false };
      const wanted = new Map<string, { body: NeedsBatchReply['body']; episodeId: string; index: number }>();
      try {
        const indexes = Array.from({ length: Math.max(0, input.until - input.from) }, (_, i) => input.from + i);
        let driven = 0;
        const drive = async (index: number) => {
          let episodeId = '';
          try {
            const s = await playEpisode(
              { handle: input.handle, task: plan.task, method: plan.method, samplePath: plan.samplePath, index, ...(input.allowance ? { allowance: input.allowance } : {}) },
              {
                teacher: (id) => {
                  episodeId = id;
                  return createBatchModel({ name: config.generate.teacher, config: teacher, cache, episodeId: id });
                },
                priced,
              },
            );
            r.finished += 1;
            if (s.reward === 1) r.succeeded += 1;
            r.calls += s.calls;
            r.cachedCalls += s.cachedCalls;
            if (s.reused) r.reused += 1;
            else if (s.paid) r.paid = add(r.paid, s.paid);
          } catch (err) {
            if (err instanceof NeedsBatchReply) {
              r.pending.push(index);
              // Equal requests are asked once; the lowest episode asks, whatever order the drives finish in.
              const had = wanted.get(err.key);
              if (!had || index < had.index) wanted.set(err.key, { body: err.body, episodeId, index });
              return;
            }
            if (isTypedFailure(err, ErrorType.BudgetExhausted)) {
              if (!r.outgrew || index < r.outgrew.index) r.outgrew = { index, details: err.details?.[0] as BudgetExhaustedDetails };
              return;
            }
            throw err;
          } finally {
            heartbeat.update({ round: input.round, driven: ++driven });
          }
        };
        for (let i = 0; i < indexes.length; i += DRIVE_AT_ONCE) await Promise.all(indexes.slice(i, i + DRIVE_AT_ONCE).map(drive));
        r.pending.sort((a, b) => a - b);
        r.requests = wanted.size;
        if (input.tallyOnly || wanted.size === 0) return r;

        const stragglers =
          input.round > settings.maxRounds ||
          (settings.syncAfterRound !== undefined && input.round > settings.syncAfterRound) ||
          wanted.size < settings.syncBelowRequests;
        if (stragglers) {
          log.info('batch stragglers finish synchronously', { round: input.round, requests: wanted.size });
          return { ...r, sync: true };
        }

        // In episode order, so a retry writes the same file and finds its batch by the same key.
        const items = [...wanted.entries()].sort((a, b) => a[1].index - b[1].index).map(([key, w], n) => {
          const customId = `r${input.round}-${n}`;
          return { customId, key, episodeId: w.episodeId, line: batchLine(customId, w.body) };
        });
        const parts = splitParts(items, settings);
        const store = clients.store(config);
        const dir = roundDir(input.handle, plan, input.round);
        const client = clientFor(config);
        const shard = shardName(plan.task, plan.split, plan.method, plan.shard);
        for (const [k, part] of parts.entries()) {
          const jsonl = part.map((p) => p.line + '\n').join('');
          const key = batchKey(input.handle.experiment, shard, input.round, k, jsonl);
          // The manifest maps answers back to cache keys and episodes; written before the batch exists, the same each attempt.
          const manifest: ManifestEntry[] = part.map((p) => [p.customId, p.key, p.episodeId]);
          await store.writeJson(`${dir}/part-${k}.json`, manifest);
          await store.writeText(`${dir}/part-${k}.jsonl`, jsonl, part.length);
          const b = await client.findOrCreate(key, jsonl, signal());
          log.info(b.created ? 'batch created' : 'batch found by its key', { key, id: b.id, requests: part.length });
          r.batches.push({ id: b.id, key, requests: part.length });
          heartbeat.update({ round: input.round, batches: r.batches.length });
        }
        return r;
      } finally {
        heartbeat.stop();
      }
    },

    /** Status of each batch (a cheap call the workflow makes between timers). */
    async batchStatus(input: { handle: ExperimentHandle; ids: string[] }): Promise<BatchStatus[]> {
      const client = clientFor(await frozenConfig(input.handle));
      const out: BatchStatus[] = [];
      for (const id of input.ids) {
        const b = await client.retrieve(id, signal());
        out.push({ id: b.id, status: b.status, counts: b.counts, errors: b.errors });
      }
      return out;
    },

    /** Downloads each batch's output and error files and writes every usable answer into the cache. */
    async applyBatchRound(input: { handle: ExperimentHandle; plan: ShardPlan; round: number; batches: BatchRef[] }): Promise<BatchApplyResult> {
      const config = await frozenConfig(input.handle);
      const store = clients.store(config);
      const cache = clients.modelCache(config);
      const client = clientFor(config);
      const dir = roundDir(input.handle, input.plan, input.round);
      const result: BatchApplyResult = { answered: 0, failed: 0, reasons: {} };
      const fail = (reason: string, n = 1) => {
        result.failed += n;
        result.reasons[reason] = (result.reasons[reason] ?? 0) + n;
      };
      const heartbeat = startHeartbeat({ round: input.round, applied: 0 });
      try {
        for (const [k, ref] of input.batches.entries()) {
          const manifest = new Map((await store.readJson<ManifestEntry[]>(`${dir}/part-${k}.json`)).map(([customId, key, episodeId]) => [customId, { key, episodeId }]));
          const bodies = new Map(
            (await store.readText(`${dir}/part-${k}.jsonl`))
              .split('\n')
              .filter((l) => l)
              .map((l) => {
                const v = JSON.parse(l) as { custom_id: string; body: { messages: Array<{ role: 'system' | 'user' | 'assistant'; content: string }> } };
                return [v.custom_id, v.body.messages] as const;
              }),
          );
          const b = await client.retrieve(ref.id, signal());
          const seen = new Set<string>();
          const lines = [
            ...(b.outputFileId ? parseLines(await client.content(b.outputFileId, signal())) : []),
            ...(b.errorFileId ? parseLines(await client.content(b.errorFileId, signal())) : []),
          ];
          for (const line of lines) {
            const entry = line?.custom_id !== undefined ? manifest.get(line.custom_id) : undefined;
            if (!line || !entry || seen.has(line.custom_id!)) {
              // Its request (if any) is counted below as one without an answer.
              result.reasons['unreadable output line'] = (result.reasons['unreadable output line'] ?? 0) + 1;
              continue;
            }
            seen.add(line.custom_id!);
            const status = line.response?.status_code;
            if (line.error || status !== 200) {
              fail(line.error?.code ?? (status !== undefined ? `HTTP ${status}` : 'error'));
              continue;
            }
            let stored: StoredCompletion;
            try {
              stored = storedCompletion(line.response?.body, bodies.get(line.custom_id!) ?? []);
            } catch (err) {
              fail(`malformed response: ${(err as Error).message}`);
              continue;
            }
            await cache.put<StoredCompletion>(entry.key, { ...stored, paidBy: entry.episodeId });
            result.answered += 1;
            heartbeat.update({ round: input.round, applied: result.answered });
          }
          // Requests with no line at all: the batch expired or was cancelled before reaching them.
          const missing = manifest.size - seen.size;
          if (missing > 0) fail(`no answer (batch ${b.status})`, missing);
        }
        if (result.failed) log.warn('batch requests without an answer are asked again next round', { round: input.round, ...result.reasons });
        return result;
      } finally {
        heartbeat.stop();
      }
    },

    /** Cancels the batches that are still open (the experiment was cancelled). */
    async cancelBatches(input: { handle: ExperimentHandle; ids: string[] }): Promise<number> {
      const client = clientFor(await frozenConfig(input.handle));
      let cancelled = 0;
      for (const id of input.ids) {
        const b = await client.retrieve(id);
        if (['validating', 'in_progress', 'finalizing'].includes(b.status)) {
          await client.cancel(id);
          cancelled += 1;
        }
      }
      return cancelled;
    },
  };
}
