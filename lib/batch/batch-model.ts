// The teacher of a batch round: it answers a request from the content cache (where the synchronous
// client and earlier batches put their answers, under the same key) and otherwise stops the episode
// with the request it needs. Re-running the one agent loop over the answers so far is the episode's
// step function: the state between rounds is the cache, and the trajectory is the one a synchronous
// run makes.
import type { ModelConfig } from '../../core/config';
import type { ContentCache } from '../cache/content-cache';
import { chatResponse, completionRequest, type StoredCompletion } from '../models/openai-model';
import type { ChatModel } from '../models/types';

/** Thrown by the batch model when the episode's next request has no answer yet. */
export class NeedsBatchReply extends Error {
  constructor(
    readonly key: string,
    readonly body: ReturnType<typeof completionRequest>['body'],
  ) {
    super('the next request goes into a batch');
    this.name = 'NeedsBatchReply';
  }
}

export function createBatchModel(opts: { name: string; config: ModelConfig; cache: ContentCache; episodeId: string }): ChatModel {
  const { name, config, cache, episodeId } = opts;
  return {
    name,
    provider: config.provider,
    model: config.model,
    async complete(request) {
      const { key, body } = completionRequest(config, cache.keyOf, request);
      const hit = await cache.get<StoredCompletion>(key);
      // This episode's own batch answers count as paid calls, as the synchronous client's would.
      if (hit !== undefined) return chatResponse(hit, hit.paidBy !== episodeId);
      throw new NeedsBatchReply(key, body);
    },
  };
}
